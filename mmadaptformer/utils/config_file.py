# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read a config file, and name the file in what goes wrong with it.

Two mistakes in a config file end MMEngine's tools with a long traceback
that never says where the mistake is: Python that does not parse (MMEngine
parses it with ``ast.parse``, so the error names ``<unknown>``), and a
``type`` that no registry holds (``KeyError: 'AdaptFormr is not in the
mmaction::model registry ...'``, raised wherever the Runner builds it).
:func:`load_config_file` and :func:`registry_miss` (which
:func:`~.config_mistakes.naming_config_mistakes` raises) turn exactly these
into a :class:`ConfigError` that names the file, the line or the config
key; the tools end with it on one line. Everything else goes through
unchanged.
"""
import ast
import difflib
import inspect
import os.path as osp
import re
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import mmengine.registry
from mmengine.config import Config
from mmengine.registry import Registry, init_default_scope

from .cfg_options_merge import merge_cfg_options
from .config_error import ConfigError
from .config_inputs import base_files, missing_base_place

__all__ = [
    'load_config_file', 'registry_miss', 'typed_dicts', 'close_hint',
    'config_key', 'value_at', 'ABSENT', 'option_key', 'option_place',
    'mistake_place', 'registered', 'use_default_scope', 'merge_cfg_options',
    'mmengine_runner', 'named_arguments', 'dropped_keywords',
    'refuse_unknown_keys'
]

#: MMEngine's message for a ``type`` that its registry lacks
#: (``build_from_cfg``, ``build_runner_from_cfg``, schedulers).
# A registry's name may have spaces: 'data sampler', 'parameter scheduler'.
_REGISTRY_MISS = re.compile(r'^(\S+) is not in the (?:(\w+)::)?(\w[\w ]*?) '
                            r'registry\. Please check whether the value of')


def _syntax_error(path: str) -> Optional[SyntaxError]:
    """The error of parsing ``path`` as Python, named by the file."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        ast.parse(text, filename=path)
    except SyntaxError as exc:
        return exc
    return None


def _find_syntax_error(path: str, seen=()) -> Optional[SyntaxError]:
    """The first syntax error in ``path`` or its local ``_base_`` files."""
    if not osp.isfile(path) or path in seen:
        return None
    error = _syntax_error(path)
    if error is not None:
        return error
    # The bases MMEngine would read, as tools/infer.py finds them for --out;
    # a json or yaml one is not Python.
    for base in base_files(path):
        if not base.endswith('.py'):
            continue
        error = _find_syntax_error(base, seen + (path, ))
        if error is not None:
            return error
    return None


def load_config_file(path: str) -> Config:
    """:meth:`Config.fromfile`, with a file that is not valid Python
    refused, naming the file and the line.

    Args:
        path (str): The config file.

    Returns:
        Config: The config.

    Raises:
        ConfigError: If the file, or a ``_base_`` file it inherits, does
            not parse as Python (the message names that file, the line and
            what is wrong: ``'(' was never closed``), or sets a dict where
            its base has another value (``init_cfg=dict(...)`` over
            ``init_cfg=None``), which MMEngine merges only with
            ``_delete_=True``, or names a ``_base_`` file that does not
            exist (the message names the file and the line that name it).
        FileNotFoundError: If there is no such file.
    """
    try:
        return Config.fromfile(path)
    except FileNotFoundError as exc:
        where = None
        if exc.filename and osp.abspath(exc.filename) != osp.abspath(path):
            where = missing_base_place(path, exc.filename)
        if where is None:
            raise
        raise ConfigError(f'The config {path}: its _base_ '
                          f'{osp.normpath(exc.filename)} does not exist '
                          f'(named in {where}).') from exc
    except SyntaxError as exc:
        error = _find_syntax_error(path)
        if error is None:  # not a mistake this module can place
            raise
        what = f'The config {path}' if error.filename == path else \
            f'{error.filename}, a _base_ of the config {path},'
        raise ConfigError(f'{what} is not valid Python: {error.msg} (line '
                          f'{error.lineno}).') from exc
    except TypeError as exc:
        # MMEngine's merge of a child's dict into a base's other value.
        if 'cannot inherit from base' not in str(exc):
            raise
        raise ConfigError(f'The config {path} (or a _base_ of it): '
                          f'{exc}') from exc


def _registry(scope: Optional[str], name: str) -> Optional[Registry]:
    for root in vars(mmengine.registry).values():
        if isinstance(root, Registry) and root.name == name and \
                root.parent is None:
            if scope in (None, root.scope):
                return root
            return root.children.get(scope)
    return None


def _close_names(type_name: str, scope: Optional[str], name: str) -> List[str]:
    """Registered names like ``type_name``, in the registry and those it
    falls back to."""
    names = set()
    registry = _registry(scope, name)
    while registry is not None:
        names.update(registry.module_dict)
        registry = registry.parent
    return difflib.get_close_matches(type_name, sorted(names), n=3)


def typed_dicts(node, prefix: str = '') -> Iterator[Tuple[str, dict]]:
    """``(key, dict)`` of every dict in a config (``cfg.to_dict()``) that
    has a ``type``, outer before inner (``model.backbone``,
    ``param_scheduler[0]``; ``''`` for ``node`` itself)."""
    if isinstance(node, dict):
        if 'type' in node:
            yield prefix, node
        for key, value in node.items():
            yield from typed_dicts(value,
                                   f'{prefix}.{key}' if prefix else str(key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from typed_dicts(value, f'{prefix}[{index}]')


def close_hint(name: str, names: Sequence[str]) -> str:
    """`` (did you mean 'x' or 'y'?)`` for the ``names`` closest to
    ``name``; ``''`` if none is close."""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close \
        else ''


def registry_miss(exc: BaseException,
                  cfg: Config,
                  source: str,
                  options: Optional[dict] = None) -> Optional[ConfigError]:
    """The :class:`ConfigError` for MMEngine's ``KeyError`` of a ``type``
    that is not in its registry, if ``cfg`` names that type.

    Args:
        exc (BaseException): What was raised.
        cfg (Config): The config the tool built from.
        source (str): The config file, for the message.
        options (dict, optional): The ``--cfg-options`` given, which may be
            where the type came from. Defaults to None.

    Returns:
        ConfigError, optional: An error naming the file (or option), the
        config keys with that type, the registry and the registered names
        closest to it; None if ``exc`` is another error, or the type is
        none of the config's (then the miss is no mistake of the config).
    """
    if not isinstance(exc, KeyError) or len(exc.args) != 1:
        return None
    match = _REGISTRY_MISS.match(str(exc.args[0]))
    if match is None:
        return None
    type_name, scope, name = match.groups()
    keys = [
        f'{key}.type' if key else 'type'
        for key, node in typed_dicts(cfg.to_dict())
        if node['type'] == type_name
    ]
    if not keys:
        return None
    given = [option_key(k, options) for k in keys]
    given = [k for k in given if k is not None]
    keys = ' and '.join(keys[:3])
    where = f'--cfg-options {given[0]}' if given else f'{source}: {keys}'
    registry = f'{scope}::{name}' if scope else name
    close = ' or '.join(map(repr, _close_names(type_name, scope, name)))
    hint = f'; did you mean {close}?' if close else '.'
    return ConfigError(
        f'{where}={type_name!r} is not in the {registry} registry{hint} '
        'Check the spelling, or import the module that registers it '
        '(custom_imports).')


def use_default_scope(cfg: Config) -> None:
    """Make the config's ``default_scope`` (if it has one) the current
    one, as the Runner will."""
    scope = cfg.get('default_scope')
    if scope:
        init_default_scope(scope)


#: The runners that read a config's dataloaders and ``env_cfg`` as
#: MMEngine's own do; another ``runner_type`` may read other keys.
MMENGINE_RUNNERS = ('Runner', 'FlexibleRunner')


def mmengine_runner(cfg: Config) -> bool:
    """Whether the config's ``runner_type`` (MMEngine's ``Runner`` when
    unset) is one of :data:`MMENGINE_RUNNERS`."""
    runner = cfg.get('runner_type')
    return runner is None or str(runner).split('.')[-1] in MMENGINE_RUNNERS


def registered(registry: Registry, kind, scope: Optional[str] = None):
    """What ``type=kind`` builds from ``registry``: ``kind`` itself unless
    it is a name, else the class registered under it in ``scope`` (the
    dict's ``_scope_``; None: the current default scope), as MMEngine's
    ``build_from_cfg`` finds it (None for no such name)."""
    if not isinstance(kind, str):
        return kind
    with registry.switch_scope_and_registry(scope) as scoped:
        return scoped.get(kind)


def named_arguments(function) -> List[str]:
    """The arguments a config can give ``function`` (a class or a
    callable) by name: its positional-or-keyword and keyword-only ones,
    ``self`` aside; none if it has no signature to read."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # no signature to read
        return []
    return [
        p.name for p in parameters
        if p.name != 'self' and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                           p.KEYWORD_ONLY)
    ]


def dropped_keywords(given: dict, cls: type, dropping: Sequence[str],
                     packages: Tuple[str, ...]) -> Tuple[List[str], List[str]]:
    """The keys of the config ``given`` that the class ``cls`` built from
    it would drop, and the arguments it takes.

    A constructor that takes ``**kwargs`` and uses none of them drops a key
    it does not know without a word. Only the classes of ``cls``'s MRO
    down to one named in ``dropping`` are read, and only if all of them
    come from ``packages``: a class of another package (a user's subclass)
    may use its ``**kwargs``; such a class, or one that reaches no
    dropping class, gives ``([], [])``.

    Args:
        given (dict): The config the class is built from.
        cls (type): The class.
        dropping (Sequence[str]): The dropping classes, by name or by
            ``module.name``.
        packages (tuple[str]): Module prefixes whose classes are known
            (``('mmaction.', )``).

    Returns:
        tuple[list, list]: The dropped keys and the arguments the
        constructors down to the dropping class take.
    """
    chain = []
    for base in cls.__mro__:
        if not base.__module__.startswith(packages):
            return [], []
        chain.append(base)
        if base.__name__ in dropping or \
                f'{base.__module__}.{base.__name__}' in dropping:
            break
    else:
        return [], []
    takes = list(
        dict.fromkeys(name for base in chain if '__init__' in vars(base)
                      for name in named_arguments(base.__init__)))
    dropped = [
        key for key in given
        if key not in ('type', '_scope_') and key not in takes
    ]
    return dropped, takes


def config_key(option: str) -> str:
    """The config key a ``--cfg-options`` key sets, as errors name it:
    ``param_scheduler.0.T_max`` sets ``param_scheduler[0].T_max``."""
    return re.sub(r'\.(\d+)(?=\.|$)', r'[\1]', option)


def value_at(value, key: str):
    """The value at the config key ``key`` (``a.b[0].c``, or ``a.b.0.c``
    as ``--cfg-options`` writes it) of the dict or list ``value``;
    :data:`ABSENT` if it holds none there (``''`` is ``value`` itself)."""
    for part in re.findall(r'[^.\[\]]+', key):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, (list, tuple)) and part.isdigit() and \
                int(part) < len(value):
            value = value[int(part)]
        else:
            return ABSENT
    return value


#: What :func:`value_at` returns for a key that is not there.
ABSENT = object()


def _sets_from_above(given: str, key: str, options: dict) -> bool:
    """Whether the option ``given`` set a key above ``key`` to a value that
    holds ``key`` (a dict option merges into the file's dict, so a key
    beneath it that it lacks still comes from the file)."""
    above = config_key(given)
    return key.startswith((f'{above}.', f'{above}[')) and value_at(
        options[given], key[len(above):]) is not ABSENT


def option_key(key: str, options: Optional[dict]) -> Optional[str]:
    """The ``--cfg-options`` entry, as it was given, that set the config
    key ``key``; failing that, the first that set a key beneath it
    (``default_hooks.chekpoint.interval`` for ``default_hooks.chekpoint``);
    failing that, the last that set a key above it to a value holding
    ``key`` (``custom_hooks=[...]`` for ``custom_hooks[0].head``); None if
    none did."""
    keys = {given: config_key(given) for given in options or {}}
    for given, set_key in keys.items():
        if set_key == key:
            return given
    for given, set_key in keys.items():
        if set_key.startswith((f'{key}.', f'{key}[')):
            return given
    above = [given for given in keys if _sets_from_above(given, key, options)]
    return above[-1] if above else None


def option_place(key: str,
                 options: Optional[dict],
                 value=ABSENT) -> Optional[str]:
    """``--cfg-options KEY=VALUE``, the entry that set the config key
    ``key`` (:func:`option_key`), for an error; ``KEY, set by
    --cfg-options ABOVE=VALUE`` (``KEY = VALUE, set by ...`` if ``value``
    is given) if it set a key above ``key``; None if none did."""
    given = option_key(key, options)
    if given is None:
        return None
    option = f'--cfg-options {given}={options[given]!r}'
    if not _sets_from_above(given, key, options):
        return option
    shown = key if value is ABSENT else f'{key} = {value!r}'
    return f'{shown}, set by {option}'


def mistake_place(source: str,
                  key: str,
                  options: Optional[dict],
                  value=ABSENT) -> str:
    """Where the config key ``key`` was set, for an error: the option that
    set it (:func:`option_place`) if one did, else ``SOURCE: KEY`` (``SOURCE:
    KEY = VALUE`` if ``value`` is given).
    """
    shown = key if value is ABSENT else f'{key} = {value!r}'
    return option_place(key, options, value) or f'{source}: {shown}'


def refuse_unknown_keys(given: dict,
                        key: str,
                        known: Sequence[str],
                        noun: str,
                        fate: str,
                        source: str,
                        options: Optional[dict],
                        takes: str = 'It takes',
                        hint: Optional[Callable[[str], str]] = None) -> None:
    """Refuse the first key of the dict ``given`` (the config's ``key``)
    that is not in ``known``.

    Args:
        given (dict): The config's dict.
        key (str): Its config key, e.g. ``'env_cfg.mp_cfg'``.
        known (Sequence[str]): The keys its reader reads.
        noun (str): What a key of it is, e.g. ``'env_cfg key'``.
        fate (str): What its reader would do with another key.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given.
        takes (str): Leads the list of ``known`` keys. Defaults to
            ``'It takes'``.
        hint (Callable[[str], str], optional): The hint for a key, instead
            of :func:`close_hint`'s closest known keys.

    Raises:
        ConfigError: ``WHERE: 'NAME' is no NOUN (did you mean ...?); FATE.
            TAKES: KNOWN.``, where WHERE is :func:`mistake_place`'s.
    """
    for name in given:
        if name in known:
            continue
        place = mistake_place(source, f'{key}.{name}', options)
        why = hint(name) if hint is not None else close_hint(name, known)
        raise ConfigError(f'{place}: {name!r} is no {noun}{why}; {fate}. '
                          f'{takes}: {", ".join(known)}.')
