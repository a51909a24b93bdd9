# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's ``KeyError``s about a config's bases, named.

Two mistakes of inheritance ended the tools (and the APIs) with a bare
``KeyError`` at the end of a traceback of 30 to 40 lines:

- a ``{{_base_.model.backbon}}`` reference to a key the bases do not
  define (``KeyError: 'backbon'``), naming neither the file, the line nor
  the reference;
- two ``_base_`` files that both define a key, such as a data file beside
  a stock config (``KeyError: "Duplicate key is not allowed among bases.
  Duplicate keys: {'train_cfg'}"``), naming neither base.

:func:`base_key_error` turns them into a :class:`ConfigKeyError` (a
:class:`~.config_error.ConfigError` and a ``KeyError``) on one line. It
reads what MMEngine's ``Config._file2dict`` held when it raised (the file
it was reading, its bases' merged keys) from the error's traceback: MMEngine
says no more in public. :func:`naming_base_mistakes` wraps a reader with
it: :func:`~.config_loading.read_config` (our tools and APIs) and the
``Config.fromfile`` that :func:`~.config_file_guard.guard_config_file_reads`
installs (mmaction2's ``init_recognizer`` and Inferencers, mmpretrain's
``get_model`` given a ``.py`` path).
"""
import functools
import os
import os.path as osp
import re
import traceback
from typing import Callable, List, Optional

from .config_error import ConfigError
from .config_inheritance import named_bases
from .registry_names import close_hint

__all__ = ['ConfigKeyError', 'base_key_error', 'naming_base_mistakes']

#: MMEngine's own duplicate-bases message (mmengine/config/config.py).
_DUPLICATE = 'Duplicate key is not allowed among bases'


class ConfigKeyError(ConfigError, KeyError):
    """A config's ``{{_base_.KEY}}`` names a key its bases do not define,
    or two of its bases define one key; still a ``KeyError``, as MMEngine
    raised it."""

    # KeyError's own would print the message quoted, as a key.
    __str__ = ConfigError.__str__


def _reading_frame(exc: KeyError):
    """The innermost frame of MMEngine's ``Config._file2dict`` that the
    error passed through: the config file it was reading."""
    found = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        code = frame.f_code
        if code.co_name == '_file2dict' and 'mmengine' in code.co_filename:
            found = frame
    return found


def _reference_line(path: str, reference: str) -> Optional[int]:
    """The first line of ``path`` that holds ``{{_base_.REFERENCE}}``."""
    pattern = re.compile(r'\{\{\s*_base_\.' + re.escape(reference) +
                         r'\s*\}\}')
    try:
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                if pattern.search(line):
                    return number
    except (OSError, UnicodeDecodeError):
        pass  # the line is a courtesy; the file is named without it
    return None


def _broken_reference(base_vars: dict, base_cfg) -> Optional[tuple]:
    """The first ``{{_base_.X}}`` of ``base_vars`` (MMEngine's placeholder:
    reference) that ``base_cfg`` cannot resolve: the reference, the part
    missing, the part found and the keys available there."""
    for reference in sorted(base_vars.values()):
        node, path = base_cfg, []
        for part in reference.split('.'):
            if not isinstance(node, dict) or part not in node:
                keys = sorted(node) if isinstance(node, dict) else None
                return reference, part, '.'.join(path), keys
            node, path = node[part], path + [part]
    return None


def _reference_error(config: str, frame) -> Optional[ConfigKeyError]:
    filename = frame.f_locals.get('filename')
    found = _broken_reference(
        frame.f_locals.get('base_var_dict') or {},
        frame.f_locals.get('base_cfg_dict') or {})
    if not filename or found is None:
        return None
    reference, part, above, keys = found
    line = _reference_line(filename, reference)
    where = filename if line is None else f'{filename}, line {line}'
    via = '' if osp.abspath(config) == filename else \
        f' (a _base_ of the config {config})'
    level = f'_base_.{above}' if above else '_base_'
    if keys is None:
        has = f'{level} is no dict.'
    else:
        # MMEngine's mark of an installed package's variables is no key
        # a user writes.
        keys = [key for key in keys if key != '_scope_']
        shown = ', '.join(keys[:20]) + (', ...' if len(keys) > 20 else '.')
        has = f'{level} has: {shown}'
    return ConfigKeyError(
        f'{where}{via}: {{{{_base_.{reference}}}}} names {part!r}'
        f'{close_hint(part, keys or [])}, which its bases do not define; '
        f'{has}')


def _written_base(child: str, resolved: str) -> str:
    """How ``child``'s ``_base_`` names the base file ``resolved``."""
    try:
        entries = named_bases(child)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return resolved
    folder = osp.dirname(child)
    for entry in entries:
        if not isinstance(entry, str):
            continue
        if '::' in entry:
            if resolved.replace('\\', '/').endswith(entry.split('::', 1)[1]):
                return entry
        elif osp.normpath(osp.join(folder, entry)) == osp.normpath(resolved):
            return entry
    return resolved


def _earlier_bases(child: str, clashing: str) -> List[str]:
    """The entries of ``child``'s ``_base_`` before ``clashing``."""
    try:
        entries = [e for e in named_bases(child) if isinstance(e, str)]
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    return entries[:entries.index(clashing)] if clashing in entries else []


def _duplicate_error(config: str, frame) -> Optional[ConfigKeyError]:
    child = frame.f_locals.get('filename')
    resolved = frame.f_locals.get('base_cfg_path')
    keys = frame.f_locals.get('duplicate_keys')
    if not child or not resolved or not keys:
        return None
    second = _written_base(child, resolved)
    earlier = _earlier_bases(child, second)
    if len(earlier) == 1:
        first = earlier[0]
    elif earlier:
        first = 'one of ' + ', '.join(earlier)
    else:
        first = 'an earlier one'
    via = '' if osp.abspath(config) == child else \
        f' (a _base_ of the config {config})'
    names = ', '.join(sorted(keys))
    return ConfigKeyError(
        f'{child}{via}: two of its _base_ files define {names}: {second} '
        f'and {first} (directly or through their own bases); MMEngine '
        'merges bases only where their keys differ. Drop it from one base '
        '(and set it in this config if it needs another value), or make one '
        'base inherit the other.')


def base_key_error(config: str, exc: KeyError) -> Optional[ConfigKeyError]:
    """A one-line error for MMEngine's ``KeyError`` from reading the
    config ``config``, where it is about the config's bases.

    Args:
        config (str): The config file read.
        exc (KeyError): What MMEngine's ``Config.fromfile`` raised.

    Returns:
        ConfigKeyError | None: For an unresolved ``{{_base_.X}}`` reference,
        naming the file, the line, the reference and the keys defined at
        the level where it fails; for a key two bases define, naming the
        file, the key and the two bases. None for any other ``KeyError``.
    """
    frame = _reading_frame(exc)
    if frame is None:
        return None
    if _DUPLICATE in str(exc):
        return _duplicate_error(config, frame)
    if any(frame_code.f_code.co_name == '_substitute_base_vars'
           for frame_code, _ in traceback.walk_tb(exc.__traceback__)):
        return _reference_error(config, frame)
    return None


def naming_base_mistakes(fromfile: Callable) -> Callable:
    """``fromfile`` (MMEngine's ``Config.fromfile``), raising
    :func:`base_key_error`'s :class:`ConfigKeyError` from the ``KeyError``
    of a mistake in the config's bases; any other error unchanged.

    Args:
        fromfile (Callable): The reader, called with the config file first.

    Returns:
        Callable: The reader, its base mistakes named.
    """

    @functools.wraps(fromfile)
    def named(filename, *args, **kwargs):
        try:
            return fromfile(filename, *args, **kwargs)
        except KeyError as exc:
            if isinstance(exc, ConfigKeyError) \
                    or not isinstance(filename, (str, os.PathLike)):
                raise
            error = base_key_error(str(filename), exc)
            if error is None:
                raise
            raise error from exc

    return named
