# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which file of a config's inheritance writes a key, for a refusal.

A key that a ``_base_`` file writes is not the user's slip: a refusal
names that file and line, and a slip of an installed toolbox's own config
(``mmpretrain::...``), which the user cannot edit, may be only a warning.
:func:`key_writer` reads the files' Python (nothing runs): the config
itself, then its ``_base_`` files depth first, relative ones from the
folder of the file that names them and ``package::path`` ones from the
package's ``.mim/configs``, as MMEngine finds a base config.
"""
import ast
import os.path as osp
from typing import Iterator, List, NamedTuple, Optional

from mmengine.utils import get_installed_path, is_installed

from .config_read_lock import CONFIG_READ_LOCK, parse_source

__all__ = ['KeyWriter', 'key_writer']


class KeyWriter(NamedTuple):
    """Where a config key is written.

    Attributes:
        file (str): The config file.
        line (int): The line of the key in it.
        installed (bool): The file is an installed package's config (reached
            through a ``package::`` base), not one of the user's.
    """
    file: str
    line: int
    installed: bool

    def place(self) -> str:
        """``FILE, line N``."""
        return f'{self.file}, line {self.line}'


def _module(path: str) -> Optional[ast.Module]:
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        return parse_source(text, filename=path)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None  # the place is a courtesy; the config is named without it


def _base_path(child: str, base: str) -> Optional[str]:
    """The file of the ``_base_`` entry ``base`` of ``child``, or None."""
    if '::' not in base:
        return osp.normpath(osp.join(osp.dirname(child), base))
    package, _, path = base.partition('::')
    # MMEngine's is_installed reloads pkg_resources, which breaks a config
    # read in another thread: under the lock config reads take.
    with CONFIG_READ_LOCK:
        if not is_installed(package):
            return None
        root = get_installed_path(package)
    found = osp.join(root, '.mim', 'configs', path)
    return found if osp.isfile(found) else None


def _bases(path: str, module: ast.Module) -> Iterator[tuple]:
    """``(file, installed)`` of each ``_base_`` string entry."""
    for node in module.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            entries = node.value.elts if isinstance(
                node.value, (ast.List, ast.Tuple)) else [node.value]
            for entry in entries:
                if isinstance(entry, ast.Constant) and isinstance(
                        entry.value, str):
                    found = _base_path(path, entry.value)
                    if found is not None:
                        yield found, '::' in entry.value


def _written(value: ast.AST, parts: List[str]) -> Optional[int]:
    """The line where the ``dict(...)`` / ``{...}`` ``value`` holds the
    key path ``parts``, or None."""
    part, rest = parts[0], parts[1:]
    found = None
    if isinstance(value, ast.Call):
        found = next((kw for kw in value.keywords if kw.arg == part), None)
        inner = None if found is None else found.value
    elif isinstance(value, ast.Dict):
        index = next((i for i, k in enumerate(value.keys)
                      if isinstance(k, ast.Constant) and k.value == part),
                     None)
        found = None if index is None else value.keys[index]
        inner = None if index is None else value.values[index]
    if found is None:
        return None
    return found.lineno if not rest else _written(inner, rest)


def _in_file(module: ast.Module, parts: List[str]) -> Optional[int]:
    line = None
    for node in module.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == parts[0]
                for t in node.targets):
            line = _written(node.value, parts[1:]) or line
    return line


def key_writer(config: str, key: str) -> Optional[KeyWriter]:
    """The file and line that write the nested config key ``key``
    (``optim_wrapper.paramwise_cfg._delete``): ``config`` if it does, else
    the first of its bases, depth first, that does.

    Args:
        config (str): The config file.
        key (str): The dotted key, two parts at least.

    Returns:
        KeyWriter, optional: None where no file's Python writes it as a
        literal ``dict(...)`` or ``{...}`` of a top-level assignment.
    """
    parts = key.split('.')
    todo, seen = [(osp.abspath(config), False)], set()
    while todo:
        path, installed = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        module = _module(path)
        if module is None:
            continue
        line = _in_file(module, parts)
        if line is not None:
            return KeyWriter(path, line, installed)
        todo[:0] = [(base, installed or through)
                    for base, through in _bases(path, module)]
    return None
