# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check ``optim_wrapper`` and its ``optimizer`` before the Runner builds
them.

MMEngine's Runner builds the optimizer wrapper only inside ``train()``,
after it has made the work dir, its log and the model. A misspelled
optimizer argument (``--cfg-options optim_wrapper.optimizer.lrr=0.1``) was
refused only then (``TypeError: SGD.__init__() got an unexpected keyword
argument 'lrr'``); an optimizer ``type`` its registry lacks (``AdamWW``)
ended in ``TypeError: None is not a callable object`` from MMEngine's
default constructor, naming nothing; an ``optim_wrapper.type`` or
``constructor`` that no registry holds, a wrapper argument its class does
not take (``accumulative_count=2``) and an ``optimizer`` without a type
failed there too. :func:`check_optimizer_cfg` names each first, with the
config key (or the ``--cfg-options`` entry), reading the classes from
MMEngine's registries in the config's ``default_scope`` and their
arguments from their signatures; it builds nothing.

Only what MMEngine's ``DefaultOptimWrapperConstructor`` builds (or a
subclass that keeps its ``__call__``: mmpretrain's layer-wise decay,
mmaction2's TSM) is checked; another constructor (one that builds several
wrappers) may read the config another way, so only its own name is.
"""
import difflib
import inspect
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                               OPTIMIZERS, Registry)

from .config_error import ConfigError
from .config_place import mistake_place
from .registry_names import close_hint, registered, use_default_scope
from .runner_type import mmengine_runner
from .unknown_keys import named_arguments

__all__ = ['check_optimizer_cfg', 'wrapper_arguments', 'WRAPPER_CFG_KEYS']

#: The keys of ``optim_wrapper`` that MMEngine's ``build_optim_wrapper``
#: and default constructor take for themselves; the others are passed to
#: the wrapper's class.
WRAPPER_CFG_KEYS = ('type', '_scope_', 'optimizer', 'constructor',
                    'paramwise_cfg')

#: Where the classes live whose ``**kwargs`` are known to go to their base
#: class (MMEngine's ``AmpOptimWrapper``, our ``AdaptAmpOptimWrapper``); a
#: user's own may read them another way.
_KNOWN_MODULES = ('mmengine.', 'mmadaptformer.', 'mmaction.', 'mmpretrain.')

_DEFAULT = 'DefaultOptimWrapperConstructor'

#: A registry of at most this many names is listed when none is close.
_LISTED = 12


def wrapper_arguments(cls: type) -> Optional[List[str]]:
    """The arguments a config can give the optimizer wrapper class
    ``cls`` (``optimizer`` aside, which the constructor passes): those of
    its ``__init__`` and, where it takes ``**kwargs``, of its bases' that
    it passes them to; None if they cannot be told (a class of another
    package takes ``**kwargs``, or no class of its MRO stops taking
    them).

    Args:
        cls (type): An optimizer wrapper class.

    Returns:
        list[str], optional: e.g. ``['loss_scale', 'dtype', 'use_fsdp',
        'accumulative_counts', 'clip_grad']`` for ``AmpOptimWrapper``.
    """
    takes: Dict[str, None] = {}
    for base in inspect.getmro(cls):
        if '__init__' not in vars(base):
            continue
        try:
            parameters = inspect.signature(base.__init__).parameters
        except (TypeError, ValueError):  # no signature to read: do not guess
            return None
        takes.update(dict.fromkeys(named_arguments(base.__init__)))
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            takes.pop('optimizer', None)
            return list(takes)
        if not base.__module__.startswith(_KNOWN_MODULES):
            return None
    return None


def _unknown_type(registry: Registry,
                  kind,
                  scope: Optional[str],
                  key: str,
                  source: str,
                  options: Optional[dict],
                  fits: Optional[Callable[[object], bool]] = None,
                  note: str = '') -> ConfigError:
    """The error for ``kind`` (the config's ``key``), which ``registry``
    does not hold in ``scope`` (None: the current default scope), with the
    closest names it and the registries it falls back to hold: only of
    the classes ``fits`` accepts, if given (then none are listed when none
    is close). ``note`` ends the message."""
    names: Dict[str, None] = {}
    with registry.switch_scope_and_registry(scope) as scoped:
        where = f'{scoped.scope}::{scoped.name}'
        while scoped is not None:
            names.update(
                dict.fromkeys(name for name, cls in scoped.module_dict.items()
                              if fits is None or fits(cls)))
            scoped = scoped.parent
    close = difflib.get_close_matches(str(kind), sorted(names), n=3)
    if close:
        hint = f"; did you mean {' or '.join(map(repr, close))}?"
    elif fits is None and len(names) <= _LISTED:
        hint = f'; it holds {", ".join(sorted(names))}.'
    else:
        hint = '.'
    return ConfigError(
        f'{mistake_place(source, key, options)}: {kind!r} is not in the '
        f'{where} registry{hint} Check the spelling, or import the module '
        f'that registers it (custom_imports).{note}')


def _builds_one_wrapper(cls) -> bool:
    """Whether a constructor class builds one wrapper from the config's
    ``optimizer``, as MMEngine's default one does (a subclass that keeps
    its ``__call__``)."""
    return inspect.isclass(cls) and issubclass(
        cls, DefaultOptimWrapperConstructor) and \
        cls.__call__ is DefaultOptimWrapperConstructor.__call__


def _check_constructor(wrapper: dict, key: str, source: str,
                       options: Optional[dict]):
    """The constructor class ``wrapper`` names (MMEngine's default if
    none); raise if its registry lacks the name.

    MMEngine's ``build_optim_wrapper`` builds every ``constructor`` from
    that registry, in the default scope, so a name it lacks always failed
    there (a ``KeyError``, after the work dir was made), for one wrapper
    and for a dict of several wrappers alike. For the latter, only
    constructors that do not build one wrapper are offered as the closest
    names, and the message says what it needs."""
    kind = wrapper.get('constructor', _DEFAULT)
    cls = registered(OPTIM_WRAPPER_CONSTRUCTORS, kind)
    if cls is not None:
        return cls
    if 'optimizer' in wrapper:
        raise _unknown_type(OPTIM_WRAPPER_CONSTRUCTORS, kind, None,
                            f'{key}.constructor', source, options)
    raise _unknown_type(
        OPTIM_WRAPPER_CONSTRUCTORS,
        kind,
        None,
        f'{key}.constructor',
        source,
        options,
        fits=lambda found: not _builds_one_wrapper(found),
        note=f' A dict of several wrappers (no {key}.optimizer) needs a '
        'constructor that builds each of them (such as mmagic\'s '
        f"MultiOptimWrapperConstructor); MMEngine's {_DEFAULT} builds one, "
        f'from {key}.optimizer.')


def _refuse_unknown_arguments(given: dict, key: str, name: str,
                              takes: Sequence[str], own: Sequence[str],
                              source: str, options: Optional[dict]) -> None:
    """Refuse the first key of ``given`` (the config's ``key``) that is
    neither in ``takes`` (the class's arguments) nor in ``own`` (keys the
    builder takes for itself)."""
    for argument in given:
        if argument in own or argument in takes:
            continue
        where = mistake_place(source, f'{key}.{argument}', options)
        raise ConfigError(
            f'{where}: {name} takes no argument {argument!r}'
            f'{close_hint(argument, takes)}. It takes: {", ".join(takes)}.')


def _refuse_text_numbers(given: dict, parameters: Sequence, key: str,
                         name: str, source: str,
                         options: Optional[dict]) -> None:
    """Refuse a string where the optimizer's default is a number
    (``--cfg-options optim_wrapper.optimizer.lr=O.1``, a letter O): torch
    failed in the first comparison, ``TypeError: '<' not supported between
    instances of 'str' and 'float'``, after the work dir was made, naming
    no key."""
    for parameter in parameters:
        default, value = parameter.default, given.get(parameter.name)
        if isinstance(value, str) and isinstance(default, (int, float)) \
                and not isinstance(default, bool):
            where = mistake_place(source, f'{key}.{parameter.name}', options)
            raise ConfigError(
                f'{where}: {name} takes a number as {parameter.name} '
                f'(default {default!r}), got the text {value!r}.')


def _check_optimizer(optimizer, key: str, source: str,
                     options: Optional[dict]) -> None:
    """Check ``optimizer``, the config at ``key`` that MMEngine's default
    constructor builds an optimizer from, with the model's parameters as
    its first argument."""
    if not isinstance(optimizer, dict) or 'type' not in optimizer:
        found = f'{optimizer!r} has no type' if isinstance(
            optimizer, dict) else f'{optimizer!r} is not a dict'
        raise ConfigError(
            f'{mistake_place(source, key, options)}: {key}={found}; '
            "MMEngine's optimizer constructor builds the optimizer from a "
            "dict with a type, such as dict(type='SGD', lr=0.01).")
    kind = optimizer['type']
    scope = optimizer.get('_scope_')
    cls = registered(OPTIMIZERS, kind, scope)
    if cls is None:
        raise _unknown_type(OPTIMIZERS, kind, scope, f'{key}.type', source,
                            options)
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):  # no signature to read: do not guess
        return
    if not parameters or any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    name = getattr(cls, '__name__', str(kind))
    # The constructor gives the first argument the model's parameters.
    takes = [
        p.name for p in parameters[1:]
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    _refuse_unknown_arguments(optimizer, key, name, takes, ('type', '_scope_'),
                              source, options)
    _refuse_text_numbers(optimizer, parameters[1:], key, name, source, options)
    needed = [
        p.name for p in parameters[1:] if p.default is p.empty and p.kind in
        (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in optimizer
    ]
    if needed:
        raise ConfigError(
            f'{mistake_place(source, key, options)}: {name} needs '
            f'{", ".join(needed)}, which {key} does not give (it has no '
            'default).')


def _check_wrapper(wrapper: dict, key: str, source: str,
                   options: Optional[dict]) -> None:
    """Check the config ``wrapper`` (at ``key``) that MMEngine's default
    constructor builds an optimizer wrapper from."""
    if 'optimizer' not in wrapper:
        raise ConfigError(
            f'{mistake_place(source, key, options)}: {key} has no '
            f'optimizer; MMEngine\'s {_DEFAULT} builds the optimizer from '
            f"{key}.optimizer, e.g. optimizer=dict(type='SGD', lr=0.01).")
    kind = wrapper.get('type', 'OptimWrapper')
    scope = wrapper.get('_scope_')
    cls = registered(OPTIM_WRAPPERS, kind, scope)
    if cls is None:
        raise _unknown_type(OPTIM_WRAPPERS, kind, scope, f'{key}.type', source,
                            options)
    takes = wrapper_arguments(cls) if inspect.isclass(cls) else None
    if takes is not None:
        _refuse_unknown_arguments(wrapper, key,
                                  getattr(cls, '__name__', str(kind)), takes,
                                  WRAPPER_CFG_KEYS, source, options)
    _check_optimizer(wrapper['optimizer'], f'{key}.optimizer', source, options)


def check_optimizer_cfg(cfg: Config,
                        source: str,
                        options: Optional[dict] = None) -> None:
    """Check, for a tool about to train, the ``optim_wrapper`` dict's
    constructor, wrapper and optimizer: each ``type`` is in its registry
    (MMEngine's ``OPTIM_WRAPPER_CONSTRUCTORS``, ``OPTIM_WRAPPERS`` and
    ``OPTIMIZERS``, in the config's ``default_scope``), each key is an
    argument its class takes, and the optimizer gets every argument it
    needs.

    Args:
        cfg (Config): The training config, ``--cfg-options`` merged; one
            whose ``runner_type`` is not MMEngine's, or whose
            ``optim_wrapper`` is not a dict (see
            :func:`~.runner_check.check_optim_wrapper`), is not checked.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the config (or the ``--cfg-options`` entry),
            the key and what was expected: for an unknown argument the
            closest ones and all the class takes, for an unknown type the
            closest registered names.
    """
    wrapper = cfg.get('optim_wrapper')
    if not mmengine_runner(cfg) or not isinstance(wrapper, dict):
        return
    use_default_scope(cfg)
    constructor = _check_constructor(wrapper, 'optim_wrapper', source, options)
    # Another __call__ (several optimizers) reads the dict its own way.
    if _builds_one_wrapper(constructor):
        _check_wrapper(wrapper, 'optim_wrapper', source, options)
