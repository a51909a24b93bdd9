# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read a config file, and name the file and the line in what goes wrong
with it.

A file that is not a config at all (a checkpoint given first, as in
``tools/test.py CHECKPOINT CONFIG``) ended them with MMEngine's ``OSError:
Only py/yml/yaml/json type are supported now!`` and a traceback; it is
refused naming the file and what it is (:func:`check_config_file`).
A config file that is not valid Python ends MMEngine's tools with a long
traceback that never says where the mistake is: MMEngine parses it with
``ast.parse``, so the error names ``<unknown>``. :func:`load_config_file`
turns that, a ``_base_`` file that does not exist, a dict merged over a
base's other value and a file that is not UTF-8 text into a
:class:`~.config_error.ConfigError` that names the file and the line; the
tools end with it on one line. Everything else goes through unchanged.

Each reader checks the file once, worded for its caller: the tools' order
of files (:data:`~.checkpoint_formats.TOOL_ORDER`) by default, the APIs'
for :func:`~mmadaptformer.apis.load_config`. They read it with MMEngine's
own ``Config.fromfile``, not the one
:func:`~.config_file_guard.guard_config_file_reads` wraps with the same
check worded for the toolboxes' APIs, which would check it again; one
read at a time in the process all the same (:mod:`~.config_read_lock`).
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .checkpoint_formats import TOOL_ORDER, file_kind
from .config_base_errors import naming_base_mistakes
from .config_error import ConfigError, NotAConfigFileError
from .config_inheritance import base_files, missing_base_place
from .config_read_lock import one_read_at_a_time, parse_source
from .local_files import CONFIG_SUFFIXES

__all__ = ['check_config_file', 'read_config', 'load_config_file']

#: MMEngine's own ``Config.fromfile`` (the guard that wraps it imports this
#: module, so this runs before the wrap), one read at a time as the wrapped
#: one (it is not thread-safe), its base mistakes named as the wrapped one.
_FROMFILE = naming_base_mistakes(one_read_at_a_time(Config.fromfile))


def check_config_file(path: str, order: str = TOOL_ORDER) -> None:
    """Refuse a file that :meth:`Config.fromfile` would not read as a
    config, by its extension, saying what it is if it is a checkpoint, a
    video or an image.

    Args:
        path (str): The file given as a config.
        order (str): The order of files to name when it is one of those.
            Defaults to :data:`~.checkpoint_formats.TOOL_ORDER` (the
            tools').

    Raises:
        NotAConfigFileError: If ``path`` does not end in one of
            :data:`~.local_files.CONFIG_SUFFIXES`.
    """
    if osp.splitext(path)[1] in CONFIG_SUFFIXES:
        return
    kind = file_kind(path) if osp.isfile(path) else None
    what = f'; it is {kind}: {order}' if kind else ''
    raise NotAConfigFileError(
        f'The config {path} is not a config file: MMEngine '
        f'reads configs ending in {", ".join(CONFIG_SUFFIXES)}'
        f'{what}.')


def read_config(path: str, order: str = TOOL_ORDER) -> Config:
    """:meth:`Config.fromfile`, the file checked once
    (:func:`check_config_file`) with the caller's order of files.

    Args:
        path (str): The config file.
        order (str): The order of files to name for a file that is no
            config. Defaults to :data:`~.checkpoint_formats.TOOL_ORDER`.

    Returns:
        Config: The config.

    Raises:
        ConfigKeyError: If a ``{{_base_.X}}`` reference names a key the
            bases do not define, or two ``_base_`` files define one key
            (:func:`~.config_base_errors.base_key_error`); a
            :class:`~.config_error.ConfigError` and a ``KeyError``.
    """
    check_config_file(path, order)
    return _FROMFILE(path)


def _syntax_error(path: str) -> Optional[SyntaxError]:
    """The error of parsing ``path`` as Python, named by the file."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        parse_source(text, filename=path)
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


def load_config_file(path: str, order: str = TOOL_ORDER) -> Config:
    """:func:`read_config`, with a file that is not valid Python
    refused, naming the file and the line.

    Args:
        path (str): The config file.
        order (str): The order of files to name for a file that is no
            config. Defaults to :data:`~.checkpoint_formats.TOOL_ORDER`.

    Returns:
        Config: The config.

    Raises:
        ConfigError: If the file is not a config file by its extension
            (:func:`check_config_file`), or if it, or a ``_base_`` file it
            inherits, does
            not parse as Python (the message names that file, the line and
            what is wrong: ``'(' was never closed``), or sets a dict where
            its base has another value (``init_cfg=dict(...)`` over
            ``init_cfg=None``), which MMEngine merges only with
            ``_delete_=True``, or names a ``_base_`` file that does not
            exist (the message names the file and the line that name it),
            or is not UTF-8 text (binary bytes under a config's name).
        FileNotFoundError: If there is no such file.
    """
    try:
        return read_config(path, order)
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
    except UnicodeDecodeError as exc:
        # Binary bytes in a file named as a config, or in a _base_ of it,
        # which the error does not name.
        raise ConfigError(f'The config {path} (or a _base_ of it) is not '
                          f'UTF-8 text ({exc.reason} at byte {exc.start}): '
                          'MMEngine reads configs as Python, JSON or YAML '
                          'text.') from exc
