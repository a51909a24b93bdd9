# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which keys of a config attribute (``self.test_cfg``) a class's source
reads, found by parsing the source with :mod:`ast`.

Parsing, rather than matching text, reads what the code does however it is
written: a call split over lines or interrupted by a comment, implicitly
joined strings (``'fcn' '_test'``), ``getattr(self, 'test_cfg')``, and not
the words of a comment or a docstring that mention ``self.test_cfg``.

A key is read with ``self.X.get('KEY', ...)``, ``self.X.pop('KEY', ...)``,
``self.X.setdefault('KEY', ...)`` (the default also as ``default=``, as a
``ConfigDict`` takes it), ``self.X['KEY']`` or ``'KEY' in self.X``; a
test ``self.X is None`` (or ``is not None``) and the assignment
``self.X = X`` read none. Any other use (``self.X`` passed on
whole, aliased, iterated, a key that is not a string constant, a second
target in ``a = self.X = X``) may read any key, and then the keys cannot be
known.
"""
import ast
from typing import Dict, Iterator, Optional, Sequence, Tuple

from .config_read_lock import parse_source

__all__ = ['instance_key_reads']

#: A use that reads no key: ``self.X is None``, ``self.X = X``.
_NO_KEY = ''

#: The methods that read the key they are called with: ``get``, and
#: ``pop`` and ``setdefault``, which also remove or set it.
_KEY_METHODS = ('get', 'pop', 'setdefault')

#: Each node's parent node.
_Parents = Dict[ast.AST, ast.AST]


def _methods(tree: ast.AST) -> Iterator[Tuple[ast.AST, str]]:
    """Each method of each class in ``tree``, with the name its instance
    has there (its first parameter); static and class methods have none."""
    for klass in ast.walk(tree):
        if not isinstance(klass, ast.ClassDef):
            continue
        for method in klass.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            decorators = {
                d.id
                for d in method.decorator_list if isinstance(d, ast.Name)
            }
            params = method.args.posonlyargs + method.args.args
            if params and not decorators & {'staticmethod', 'classmethod'}:
                yield method, params[0].arg


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _called_key(call: ast.Call) -> Optional[str]:
    """The key of ``X.get/pop/setdefault(KEY[, DEFAULT])``, the key and
    default also as the keywords ``key=`` and ``default=`` that a
    ``ConfigDict`` takes; None for any other call (a key that is not a
    string constant, ``*args``, ``**kwargs``, too many arguments)."""
    names = ('key', 'default')
    if len(call.args) > len(names) or \
            any(isinstance(arg, ast.Starred) for arg in call.args):
        return None
    bound = dict(zip(names, call.args))
    for keyword in call.keywords:
        if keyword.arg not in names or keyword.arg in bound:
            return None
        bound[keyword.arg] = keyword.value
    key = bound.get('key')
    return key.value if key is not None and _is_str(key) else None


def _read_key(use: ast.AST, attr: str, parents: _Parents) -> Optional[str]:
    """The key a use of the attribute reads, :data:`_NO_KEY` for a use that
    reads none, or None for a use that may read any."""
    parent = parents.get(use)
    ctx = getattr(use, 'ctx', ast.Load())
    if isinstance(ctx, ast.Store):
        # BaseRecognizer's ``self.test_cfg = test_cfg``, alone.
        if isinstance(parent, ast.Assign) and parent.targets == [use] or \
                isinstance(parent, ast.AnnAssign) and parent.target is use:
            value = parent.value
            if isinstance(value, ast.Name) and value.id == attr:
                return _NO_KEY
        return None
    if not isinstance(ctx, ast.Load):
        return None
    if isinstance(parent, ast.Attribute) and parent.attr in _KEY_METHODS:
        call = parents.get(parent)
        if isinstance(call, ast.Call) and call.func is parent:
            return _called_key(call)
        return None
    if isinstance(parent, ast.Subscript) and isinstance(
            parent.ctx, ast.Load) and _is_str(parent.slice):
        return parent.slice.value
    if isinstance(parent, ast.Compare) and len(parent.ops) == 1:
        left, op, right = parent.left, parent.ops[0], parent.comparators[0]
        if right is use and isinstance(op, (ast.In, ast.NotIn)) and \
                _is_str(left):
            return left.value
        other = right if left is use else left
        if isinstance(op, (ast.Is, ast.IsNot)) and _is_none(other):
            return _NO_KEY
    return None


def _uses(method: ast.AST, instance: str, attrs: Sequence[str],
          parents: _Parents) -> Iterator[Tuple[ast.AST, Optional[str]]]:
    """Each use of ``instance.ATTR`` in a method, with ATTR; a use whose
    ATTR cannot be known (``getattr(self, name)``, ``setattr``,
    ``self.__dict__``, ``vars(self)``) gives ``(node, None)``."""
    for node in ast.walk(method):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
        if isinstance(node, ast.Attribute) and isinstance(
                node.value, ast.Name) and node.value.id == instance:
            if node.attr in attrs:
                yield node, node.attr
            elif node.attr == '__dict__':
                yield node, None
        elif isinstance(node, ast.Call) and isinstance(
                node.func, ast.Name) and node.args and isinstance(
                    node.args[0], ast.Name) and node.args[0].id == instance:
            name = node.args[1] if len(node.args) > 1 else None
            if node.func.id == 'vars':
                yield node, None
            elif node.func.id in ('getattr', 'setattr', 'delattr'):
                if not _is_str(name):
                    yield node, None
                elif name.value in attrs:
                    getter = node.func.id == 'getattr'
                    yield node, name.value if getter else None


def instance_key_reads(
        source: str,
        attrs: Sequence[str]) -> Optional[Dict[str, Tuple[str, ...]]]:
    """The keys that the methods in ``source`` read of each instance
    attribute in ``attrs``.

    Args:
        source (str): The source of a class (as ``inspect.getsource`` gives
            it, indented or not).
        attrs (Sequence[str]): The attribute names, e.g.
            ``('train_cfg', 'test_cfg')``.

    Returns:
        dict | None: ``{attr: keys}`` for every attribute in ``attrs``, each
        key once, in the order of the source; None if a use may read any
        key (the module docstring lists the uses that read known keys).

    Raises:
        SyntaxError: If ``source`` is not Python.

    Examples:
        >>> instance_key_reads(
        ...     "class A:\\n"
        ...     "    def f(self):\\n"
        ...     "        return 'k' in self.test_cfg\\n", ('test_cfg', ))
        {'test_cfg': ('k',)}
    """
    # A nested class comes indented; an ``if`` block takes any indentation,
    # where dedenting fails on a string that spans lines.
    if source[:1].isspace():
        source = 'if 1:\n' + source
    tree = parse_source(source)
    reads = []
    for method, instance in _methods(tree):
        parents: _Parents = {}
        for use, attr in list(_uses(method, instance, attrs, parents)):
            key = None if attr is None else _read_key(use, attr, parents)
            if key is None:
                return None
            if key:
                reads.append((use.lineno, use.col_offset, attr, key))
    keys: Dict[str, Dict[str, None]] = {attr: {} for attr in attrs}
    for _, _, attr, key in sorted(reads):
        keys[attr][key] = None
    return {attr: tuple(read) for attr, read in keys.items()}
