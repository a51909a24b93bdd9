# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Name the config key behind an error that MMEngine's Runner raises while
it builds what a config describes.

The Runner builds the optimizer, the schedulers, the hooks, the evaluators
and the model from config dicts, calling each class with the dict's keys.
A misspelled key (``optimizer=dict(type='SGD', lrr=0.1)``) or a missing one
ended the tools with a traceback through the Runner: ``TypeError:
SGD.__init__() got an unexpected keyword argument 'lrr'``, naming neither
the file nor the key. :func:`argument_miss` finds the config dict that the
class was built from (the dict whose ``type`` is that class, or a subclass
that passes its arguments on, and that has that key) and names it, with
the arguments closest to the one given; it does the same for the Runner
methods that take a config dict as keyword arguments
(:data:`RUNNER_CALLS`: ``randomness``). :func:`naming_config_mistakes`
raises it, and
:func:`~.registry_names.registry_miss`'s error for a ``type`` no registry
holds, in place of the Runner's.
"""
import inspect
import re
from contextlib import contextmanager
from typing import Iterator, List, Optional

from mmengine.config import Config
from mmengine.registry import (DATA_SAMPLERS, DATASETS, EVALUATOR, HOOKS,
                               LOG_PROCESSORS, LOOPS, METRICS, MODEL_WRAPPERS,
                               MODELS, OPTIM_WRAPPERS, OPTIMIZERS,
                               PARAM_SCHEDULERS, TRANSFORMS, VISBACKENDS,
                               VISUALIZERS, WEIGHT_INITIALIZERS)
from mmengine.runner import Runner

from .config_error import ConfigError
from .config_place import giving_cfg_options, mistake_place
from .kept_delete import DELETE, kept_delete_error
from .registry_names import close_hint, registered, registry_miss, typed_dicts
from .unknown_keys import named_arguments

__all__ = [
    'argument_miss', 'config_mistake', 'naming_config_mistakes',
    'CLASS_REGISTRIES', 'RUNNER_CALLS'
]

#: Python's messages for a call of ``Class.__init__`` with an argument it
#: does not take, or without one it needs (Python >= 3.10 names the class).
_UNEXPECTED = re.compile(r'^([\w.]+)\.__init__\(\) got an unexpected '
                         r"keyword argument '(\w+)'$")
_MISSING = re.compile(r'^([\w.]+)\.__init__\(\) missing \d+ required '
                      r'(?:positional |keyword-only )?arguments?: (.+)$')
#: The same for a Runner method called with a config dict as its keyword
#: arguments.
_RUNNER_CALL = re.compile(r'^(\w+)\.(\w+)\(\) got an unexpected keyword '
                          r"argument '(\w+)'$")

#: The Runner methods that take a config dict as keyword arguments, and
#: that dict's key: ``Runner.set_randomness(**cfg.randomness)``.
RUNNER_CALLS = {'set_randomness': 'randomness'}


def _type_name(kind) -> Optional[str]:
    """The class name a config ``type`` stands for (``'mmaction.X'`` is
    ``'X'``)."""
    if isinstance(kind, str):
        return kind.split('.')[-1]
    return getattr(kind, '__name__', None)


#: MMEngine's registries of the classes a config's dicts build (not
#: FUNCTIONS, whose mmaction2 child imports a module that does not exist,
#: nor STRATEGIES, which mmaction2 and mmpretrain do not extend).
CLASS_REGISTRIES = (MODELS, DATASETS, TRANSFORMS, DATA_SAMPLERS, OPTIMIZERS,
                    OPTIM_WRAPPERS, PARAM_SCHEDULERS, HOOKS, METRICS,
                    EVALUATOR, LOOPS, LOG_PROCESSORS, VISUALIZERS, VISBACKENDS,
                    MODEL_WRAPPERS, WEIGHT_INITIALIZERS)


def _class_of(kind) -> Optional[type]:
    """The class a config ``type`` builds, from whichever of
    :data:`CLASS_REGISTRIES` holds it in the current default scope."""
    if not isinstance(kind, str):
        return kind if inspect.isclass(kind) else None
    for registry in CLASS_REGISTRIES:
        cls = registered(registry, kind)
        if inspect.isclass(cls):
            return cls
    return None


def _builds(kind, cls_name: str) -> bool:
    """Whether ``type=kind`` builds the class ``cls_name`` or a subclass of
    it (whose ``__init__`` may pass its arguments on to that class's)."""
    if _type_name(kind) == cls_name:
        return True
    cls = _class_of(kind)
    return cls is not None and cls_name in (c.__name__
                                            for c in inspect.getmro(cls))


def _arguments(kind, cls_name: str) -> List[str]:
    """The named arguments of ``__init__`` of ``cls_name``, the class the
    error names, in the ancestry of the class ``kind`` builds (none if it
    cannot be read)."""
    cls = _class_of(kind)
    for base in inspect.getmro(cls) if cls is not None else ():
        if base.__name__ == cls_name:
            return named_arguments(base)
    return []


def argument_miss(exc: BaseException,
                  cfg: Config,
                  source: str,
                  options: Optional[dict] = None) -> Optional[ConfigError]:
    """The :class:`ConfigError` for a class built from ``cfg`` with an
    argument it does not take, or without one it needs.

    Args:
        exc (BaseException): What was raised.
        cfg (Config): The config the tool built from.
        source (str): The config file, for the message.
        options (dict, optional): The ``--cfg-options`` given, which may be
            where the argument came from. Defaults to None.

    Returns:
        ConfigError, optional: An error naming the file (or option), the
        key and the type, and for an unknown argument the closest ones the
        class takes; None if ``exc`` is no such ``TypeError`` or no dict
        of the config builds the class the error names (or a subclass,
        which passes ``**kwargs`` on to it, as datasets do) with that
        argument.
    """
    if not isinstance(exc, TypeError) or len(exc.args) != 1:
        return None
    text = str(exc.args[0])
    unexpected, missing = _UNEXPECTED.match(text), _MISSING.match(text)
    if not (unexpected or missing):
        return _runner_call_miss(text, cfg, source, options)
    cls_name = (unexpected or missing).group(1).split('.')[-1]
    if missing:
        typed = [(key, node) for key, node in typed_dicts(cfg.to_dict())
                 if _builds(node['type'], cls_name)]
        if not typed:
            return None
        keys = ' and '.join(key for key, _ in typed[:3])
        return ConfigError(
            f'{source}: {keys} ({_type_name(typed[0][1]["type"])}) needs '
            f'{missing.group(2)}; {cls_name}.__init__ has no default for '
            'it.')
    argument = unexpected.group(2)
    # Only the dicts with that key are looked up: looking a type up imports
    # its registry's modules (mmaction2's visualization, 0.6 s, for the
    # visualizer of a recipe whose head took the argument).
    holders = [(key, node) for key, node in typed_dicts(cfg.to_dict())
               if argument in node and _builds(node['type'], cls_name)]
    if not holders:
        return None
    key, node = holders[0]
    kind = _type_name(node['type'])
    via = '' if kind == cls_name else f' (through {cls_name}.__init__)'
    if argument == DELETE:
        # MMEngine consumes _delete_ only where a base config sets the key.
        return kept_delete_error(source, key, options, f'{kind}{via}')
    where = mistake_place(source, f'{key}.{argument}', options)
    takes = _arguments(node['type'], cls_name)
    return ConfigError(f'{where}: {kind}{via} takes no argument {argument!r}'
                       f'{close_hint(argument, takes)}.')


def _runner_call_miss(text: str, cfg: Config, source: str,
                      options: Optional[dict]) -> Optional[ConfigError]:
    """:func:`argument_miss` for a Runner method of :data:`RUNNER_CALLS`
    (``Runner.set_randomness() got an unexpected keyword argument
    'sed'``)."""
    call = _RUNNER_CALL.match(text)
    if call is None or call.group(2) not in RUNNER_CALLS:
        return None
    runner, method, argument = call.groups()
    key = RUNNER_CALLS[method]
    if argument not in (cfg.get(key) or {}):
        return None
    takes = list(inspect.signature(getattr(Runner, method)).parameters)[1:]
    where = mistake_place(source, f'{key}.{argument}', options)
    return ConfigError(f'{where}: {key} is passed to {runner}.{method}, '
                       f'which takes no argument '
                       f'{argument!r}{close_hint(argument, takes)}.')


def config_mistake(exc: BaseException,
                   cfg: Config,
                   source: str,
                   options: Optional[dict] = None) -> Optional[ConfigError]:
    """:func:`~.registry_names.registry_miss`'s error for ``exc``, else
    :func:`argument_miss`'s; None if ``exc`` is neither mistake of
    ``cfg``."""
    return registry_miss(exc, cfg, source, options) or argument_miss(
        exc, cfg, source, options)


@contextmanager
def naming_config_mistakes(cfg: Config,
                           source: str,
                           options: Optional[dict] = None) -> Iterator[None]:
    """Raise :func:`~.registry_names.registry_miss`'s or
    :func:`argument_miss`'s error instead of MMEngine's ``KeyError`` of a
    ``type`` that ``cfg`` names and no registry holds, or the
    ``TypeError`` of a class built from ``cfg`` with an argument it does
    not take or without one it needs; let every other exception through
    unchanged. Inside it, :func:`~.config_place.given_cfg_options` gives
    ``options`` to the refusals made while the Runner runs.

    Args:
        cfg (Config): The config being built.
        source (str): The config file, for the message.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
    """
    try:
        with giving_cfg_options(options):
            yield
    except (KeyError, TypeError) as exc:
        error = config_mistake(exc, cfg, source, options)
        if error is None:
            raise
        raise error from exc
