# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The local files a config inherits, found as MMEngine finds them.

MMEngine's ``Config.fromfile`` has no public way to list a config's
``_base_`` files. :func:`base_files` and :func:`config_bases` find them as
it does: a ``_base_`` string or list (after the ``{{ fileDirname }}``-style
and ``{{$ENV:default}}`` substitutions), relative to the folder of the file
that names it, in Python, JSON and YAML configs, and the relative ``from .x
import *`` lines inside ``with read_base():`` of pure-Python configs. Bases
in an installed package (``mmaction::...``, ``from mmaction.configs...``)
are not followed. :func:`missing_base_place` names the file and line that
name a ``_base_`` file that is not there.
"""
import ast
import io
import os
import os.path as osp
import re
from typing import Iterator, List, Optional, Tuple

import mmengine

from .config_read_lock import parse_source

__all__ = ['base_files', 'config_bases', 'missing_base_place', 'named_bases']

# MMEngine's predefined variables (Config._substitute_predefined_vars) and
# environment variables (Config._substitute_env_variables).
_ENV = re.compile(r'\{\{[\'\"]?\s*\$(\w+)\s*\:\s*(\S*?)\s*[\'\"]?\}\}')


def _substituted(filename: str) -> str:
    """The text of ``filename`` as MMEngine reads its ``_base_``."""
    with open(filename, encoding='utf-8') as f:
        text = f.read()
    name = osp.basename(filename)
    for key, value in (('fileDirname', osp.dirname(filename)),
                       ('fileBasename', name), ('fileBasenameNoExtension',
                                                osp.splitext(name)[0]),
                       ('fileExtname', osp.splitext(name)[1])):
        text = re.sub(r'\{\{\s*' + key + r'\s*\}\}', value.replace('\\', '/'),
                      text)
    # A variable that is neither set nor given a default stays: MMEngine
    # refuses that config when it loads it.
    return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2)), text)


def _named_bases(filename: str, text: str) -> List[str]:
    """The ``_base_`` entries (or ``read_base()`` modules) of a config."""
    ext = osp.splitext(filename)[1]
    if ext in ('.json', '.yml', '.yaml'):
        loaded = mmengine.load(io.StringIO(text), file_format=ext[1:])
        bases = loaded.get('_base_', []) if isinstance(loaded, dict) else []
        return [bases] if isinstance(bases, str) else list(bases)
    body = parse_source(text, filename=filename).body
    for node in body:
        if isinstance(node, ast.Assign) and isinstance(
                node.targets[0], ast.Name) and node.targets[0].id == '_base_':
            # MMEngine evaluates the expression, so a config may build it.
            bases = eval(
                compile(ast.Expression(body=node.value), filename, 'eval'))
            return [bases] if isinstance(bases, str) else list(bases)
    return [_module_file(line) for line in _read_base_imports(body)]


def _read_base_imports(body: List[ast.stmt]) -> Iterator[ast.ImportFrom]:
    """The relative ``from .x import *`` lines inside ``with read_base():``
    of a config's top level."""
    for node in body:
        if isinstance(node, ast.With) and any(
                isinstance(item.context_expr, ast.Call)
                and getattr(item.context_expr.func, 'id', None) == 'read_base'
                for item in node.items):
            yield from (line for line in node.body
                        if isinstance(line, ast.ImportFrom) and line.level > 0)


def _module_file(line: ast.ImportFrom) -> str:
    """The file a relative ``from .x import *`` of ``read_base()`` reads."""
    # As MMEngine's _parse_lazy_import: '..a.b' is ../a/b.py from the
    # config's folder.
    return osp.join(*(['..'] * (line.level - 1)), *line.module.split('.')) + \
        '.py'


def base_files(filename: str) -> List[str]:
    """The local files a config inherits directly, as MMEngine finds them.

    Args:
        filename (str): The config file.

    Returns:
        list[str]: Their paths, relative paths joined to the folder of
        ``filename``; a base in an installed package (``mmaction::``) is
        left out.

    Raises:
        SyntaxError: If ``filename`` is Python that does not parse.
    """
    filename = osp.abspath(osp.expanduser(filename))
    return [
        osp.normpath(osp.join(osp.dirname(filename), base))
        for base in _named_bases(filename, _substituted(filename))
        if isinstance(base, str) and '::' not in base
    ]


def _named_line(path: str, missing: str) -> Optional[int]:
    """The line of ``path`` whose ``_base_`` entry is the file ``missing``.

    In Python, that is the line of the entry's string in the ``_base_``
    assignment MMEngine reads (the assignment's line where the entries are
    built by an expression), or of the ``from .x import *`` inside ``with
    read_base():``; comments and other strings are not read. In YAML and
    JSON, it is the first line, other than a YAML comment, that holds the
    entry as written.
    """
    path = osp.abspath(osp.expanduser(path))  # as base_files reads it
    try:
        text = _substituted(path)
        if osp.splitext(path)[1] in ('.json', '.yml', '.yaml'):
            return _written_line(path, text, missing)
        body = parse_source(text, filename=path).body
    except (OSError, UnicodeDecodeError, SyntaxError):
        return None  # the line is a courtesy; the file is named without it
    folder = osp.dirname(path)
    for node in body:
        if isinstance(node, ast.Assign) and isinstance(
                node.targets[0], ast.Name) and node.targets[0].id == '_base_':
            entries = node.value.elts if isinstance(
                node.value, (ast.List, ast.Tuple)) else [node.value]
            for entry in entries:
                if isinstance(entry, ast.Constant) and isinstance(
                        entry.value, str) and osp.normpath(
                            osp.join(folder, entry.value)) == missing:
                    return entry.lineno
            return node.lineno
    for line in _read_base_imports(body):
        if osp.normpath(osp.join(folder, _module_file(line))) == missing:
            return line.lineno
    return None


def _written_line(path: str, text: str, missing: str) -> Optional[int]:
    """The first line of a YAML or JSON config's ``text`` that holds the
    ``_base_`` entry naming ``missing``, as written."""
    folder = osp.dirname(path)
    entries = [
        entry for entry in _named_bases(path, text) if isinstance(entry, str)
        and osp.normpath(osp.join(folder, entry)) == missing
    ]
    for number, line in enumerate(text.splitlines(), 1):
        if not line.lstrip().startswith('#') and any(entry in line
                                                     for entry in entries):
            return number
    return None


def missing_base_place(config: str, missing: str) -> Optional[str]:
    """Where ``config`` or one of its bases names the missing ``_base_``
    file ``missing``, as ``'FILE, line N'``, else None."""
    missing = osp.normpath(osp.abspath(missing))
    todo, seen = [config], set()
    while todo:
        child = todo.pop()
        if child in seen or not osp.isfile(child):
            continue
        seen.add(child)
        try:
            bases = base_files(child)
        except SyntaxError:
            continue
        for base in bases:
            if base == missing:
                line = _named_line(child, missing)
                return child if line is None else f'{child}, line {line}'
            todo.append(base)
    return None


def config_bases(filename: str) -> List[Tuple[str, str]]:
    """Every local file a config inherits, at any depth.

    Args:
        filename (str): The config file.

    Returns:
        list[tuple[str, str]]: ``(base, child)``: each base file that
        exists and the file that names it as its ``_base_``, depth first.
    """
    found, todo, seen = [], [osp.abspath(filename)], set()
    while todo:
        child = todo.pop()
        if child in seen or not osp.isfile(child):
            continue
        seen.add(child)
        for base in base_files(child):
            if osp.isfile(base):
                found.append((base, child))
                todo.append(base)
    return found


def named_bases(filename: str) -> list:
    """A config's ``_base_`` entries as written (after MMEngine's
    predefined and environment substitutions), in order, installed
    packages' (``mmpretrain::...``) included.

    Args:
        filename (str): The config file.

    Returns:
        list: The entries; empty for a config without bases.

    Raises:
        SyntaxError: If ``filename`` is Python that does not parse.
    """
    filename = osp.abspath(osp.expanduser(filename))
    return _named_bases(filename, _substituted(filename))
