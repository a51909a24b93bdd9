# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse an argument that a class the Runner builds does not take, before
the Runner makes the work dir.

The tools' checks build the model, the dataloaders and the optimizer
before the Runner, but the Runner alone built the hooks, the evaluators'
metrics, the visualizer, the log processor and the schedulers: a
misspelled argument (``default_hooks.logger.intervall=5``,
``val_evaluator.topkk``, ``param_scheduler[0].eta_minn``) was a
``TypeError`` once the work dir, its log and its config copy were
written, named by :func:`~.config_mistakes.argument_miss` at best, and a
raw traceback for the log processor (``LogProcessor.__init__() got an
unexpected keyword argument 'window_sizee'``), which no dict with a
``type`` names. :func:`check_runner_arguments` reads each such dict's
class, and refuses a key its ``__init__`` does not take, with the closest
ones, as :func:`~.config_mistakes.argument_miss` words it. A class whose
``__init__`` takes ``**kwargs`` is not read (it may use them otherwise:
``EMAHook`` gives them to its average's type), and is left to the Runner;
except MMEngine's learning-rate and momentum scheduler mixins, which pass
theirs on to the parameter scheduler's ``__init__``, read in their place.
"""
import inspect
from typing import Iterator, List, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import (EVALUATOR, HOOKS, LOG_PROCESSORS, METRICS,
                               VISBACKENDS, VISUALIZERS, Registry)

from .config_error import ConfigError
from .config_place import mistake_place
from .registry_names import close_hint, registered, use_default_scope
from .unknown_keys import named_arguments

__all__ = [
    'check_arguments', 'check_runner_arguments', 'runner_entries',
    'taken_arguments'
]

#: Keys MMEngine's ``build_from_cfg`` reads itself.
_BUILD_KEYS = ('type', '_scope_')

#: Modules whose ``__init__(self, ..., **kwargs)`` passes ``**kwargs`` on to
#: the next class's (``LRSchedulerMixin``, ``MomentumSchedulerMixin``).
_PASSING_ON = ('mmengine.optim.scheduler.lr_scheduler',
               'mmengine.optim.scheduler.momentum_scheduler')


def taken_arguments(cls: type) -> Optional[List[str]]:
    """The arguments ``cls(...)`` takes by name: its ``__init__``'s, and
    through the classes of :data:`_PASSING_ON` those of the next
    ``__init__`` in its MRO; None where an ``__init__`` takes ``**kwargs``
    that may be used otherwise, or none can be read."""
    names: List[str] = []
    for base in inspect.getmro(cls):
        init = base.__dict__.get('__init__')
        if init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # no signature to read
            return None
        names += named_arguments(init)
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return names
        if base.__module__ not in _PASSING_ON:
            return None
    return None


#: What MMEngine reads of a hook dict itself (``Runner.register_hook``),
#: and of a visualizer backend's (``Visualizer.__init__``).
_HOOK_KEYS = ('priority', )
_BACKEND_KEYS = ('name', )

#: An entry: its config key, its dict, the registry its type is in, the
#: type the Runner gives it when it names none, and the keys its builder
#: reads itself.
_Entry = Tuple[str, Mapping, Registry, Optional[str], Tuple[str, ...]]


def _evaluator_entries(cfg: Config, key: str) -> Iterator[_Entry]:
    """An evaluator's metrics (a dict or a list of them), or an
    ``Evaluator`` dict and its ``metrics``, as the Runner builds them."""
    evaluator = cfg.get(key)
    metrics, prefix = evaluator, key
    if isinstance(evaluator, Mapping) and 'metrics' in evaluator:
        yield key, evaluator, EVALUATOR, 'Evaluator', ()
        metrics, prefix = evaluator['metrics'], f'{key}.metrics'
    if isinstance(metrics, Mapping):
        yield prefix, metrics, METRICS, None, ()
    elif isinstance(metrics, (list, tuple)):
        for index, metric in enumerate(metrics):
            if isinstance(metric, Mapping):
                yield f'{prefix}[{index}]', metric, METRICS, None, ()


def runner_entries(
        cfg: Config,
        evaluators: Optional[Sequence[str]] = None) -> Iterator[_Entry]:
    """The dicts the Runner builds classes from that the tools' other checks
    do not build: the default and custom hooks, the evaluators' metrics,
    the visualizer and its backends, and the log processor (training's
    parameter schedulers: :func:`~.scheduler_check.check_param_scheduler`).
    """
    for name, hook in (cfg.get('default_hooks') or {}).items():
        if isinstance(hook, Mapping):
            yield f'default_hooks.{name}', hook, HOOKS, None, _HOOK_KEYS
    for index, hook in enumerate(cfg.get('custom_hooks') or ()):
        if isinstance(hook, Mapping):
            yield f'custom_hooks[{index}]', hook, HOOKS, None, _HOOK_KEYS
    for key in evaluators or ():
        yield from _evaluator_entries(cfg, key)
    visualizer = cfg.get('visualizer')
    if isinstance(visualizer, Mapping):
        yield 'visualizer', visualizer, VISUALIZERS, None, ()
        for index, backend in enumerate(visualizer.get('vis_backends') or ()):
            if isinstance(backend, Mapping):
                yield (f'visualizer.vis_backends[{index}]', backend,
                       VISBACKENDS, None, _BACKEND_KEYS)
    log_processor = cfg.get('log_processor')
    if isinstance(log_processor, Mapping):
        yield ('log_processor', log_processor, LOG_PROCESSORS, 'LogProcessor',
               ())


def check_arguments(key: str,
                    entry: Mapping,
                    registry: Registry,
                    source: str,
                    options: Optional[dict] = None,
                    default_type: Optional[str] = None,
                    builder_keys: Optional[Sequence[str]] = None) -> None:
    """Refuse a key of ``entry`` that the ``__init__`` of the class it
    builds does not take.

    Args:
        key (str): The dict's config key (``default_hooks.logger``).
        entry (Mapping): The dict.
        registry (Registry): The registry its ``type`` is looked up in.
        source (str): The config file, for the message.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        default_type (str, optional): The type the Runner builds when the
            dict names none (``'LogProcessor'``). Defaults to None: such a
            dict is not read.
        builder_keys (Sequence[str]): Keys the registry's build function
            reads itself (a scheduler's ``convert_to_iter_based``).
            Defaults to None (none).

    Raises:
        ConfigError: ``SOURCE: KEY.ARG: CLASS takes no argument 'ARG' (did
            you mean ...?).``, or the ``--cfg-options`` entry that set it.
    """
    kind = entry.get('type', default_type)
    cls = registered(registry, kind) if isinstance(kind, str) else kind
    if not inspect.isclass(cls):
        return  # no type, one no registry holds (named elsewhere), a function
    takes = taken_arguments(cls)
    if takes is None:
        return  # **kwargs it may use: left to the Runner
    known = {*_BUILD_KEYS, *takes, *(builder_keys or ())}
    for name in entry:
        if name in known:
            continue
        where = mistake_place(source, f'{key}.{name}', options)
        raise ConfigError(f'{where}: {cls.__name__} takes no argument '
                          f'{name!r}{close_hint(name, takes)}.')


def check_runner_arguments(cfg: Config,
                           source: str,
                           options: Optional[dict] = None,
                           evaluators: Optional[Sequence[str]] = None) -> None:
    """:func:`check_arguments` of each of :func:`runner_entries`, in the
    config's ``default_scope``.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for the message.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        evaluators (Sequence[str]): The evaluators the tool runs
            (``'val_evaluator'``, ``'test_evaluator'``). Defaults to None
            (none).

    Raises:
        ConfigError: For the first such argument.
    """
    use_default_scope(cfg)
    for key, entry, registry, default_type, builder_keys in runner_entries(
            cfg, evaluators):
        check_arguments(key, entry, registry, source, options, default_type,
                        builder_keys)
