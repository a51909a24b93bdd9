# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Where a config value came from, for an error: the config file's key or
the ``--cfg-options`` entry that set it.

A refusal names the key as the user wrote it: ``FILE: KEY = VALUE`` for a
value of the config file, ``--cfg-options KEY=VALUE`` for one given on the
command line, and ``KEY = VALUE, set by --cfg-options ABOVE=...`` for one
inside a dict or list that an option set as a whole
(``custom_hooks=[dict(...)]``). :func:`mistake_place` gives that place;
:func:`option_key` and :func:`option_place` the option alone;
:func:`config_key` and :func:`value_at` read an option's key and the value
under a key.

A refusal made while the Runner runs (a hook's) is not handed the options;
a tool runs under :func:`giving_cfg_options`, and
:func:`given_cfg_options` tells them to such a refusal.
"""
import contextvars
import re
from contextlib import contextmanager
from typing import Iterator, Optional

__all__ = [
    'ABSENT', 'config_key', 'option_name', 'value_at', 'option_key',
    'option_place', 'mistake_place', 'giving_cfg_options', 'given_cfg_options'
]

#: What :func:`value_at` returns for a key that is not there.
ABSENT = object()

#: The ``--cfg-options`` of the tool run in progress, if any.
_GIVEN_OPTIONS: contextvars.ContextVar = contextvars.ContextVar(
    'mmadaptformer_cfg_options', default=None)


def config_key(option: str) -> str:
    """The config key a ``--cfg-options`` key sets, as errors name it:
    ``param_scheduler.0.T_max`` sets ``param_scheduler[0].T_max``."""
    return re.sub(r'\.(\d+)(?=\.|$)', r'[\1]', option)


def option_name(key: str) -> str:
    """The ``--cfg-options`` key that sets the config key ``key``, the
    inverse of :func:`config_key`: ``param_scheduler[0].T_max`` is set by
    ``param_scheduler.0.T_max``."""
    return re.sub(r'\[(\d+)\]', r'.\1', key)


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
    none did. ``key`` may name list items either way (``a[0]`` or
    ``a.0``)."""
    key = config_key(key)
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


@contextmanager
def giving_cfg_options(options: Optional[dict]) -> Iterator[None]:
    """Make ``options``, the ``--cfg-options`` a tool was given, what
    :func:`given_cfg_options` returns while the tool builds and runs what
    its config describes.

    Args:
        options (dict, optional): The ``--cfg-options`` given; None or
            ``{}`` for none.
    """
    token = _GIVEN_OPTIONS.set(dict(options or {}))
    try:
        yield
    finally:
        _GIVEN_OPTIONS.reset(token)


def given_cfg_options() -> Optional[dict]:
    """The ``--cfg-options`` of the tool run in progress
    (:func:`giving_cfg_options`; ``{}`` if it was given none), for a
    refusal that is not handed them; None outside a tool's run (a Runner
    that a user's own code built), where they are unknown."""
    return _GIVEN_OPTIONS.get()
