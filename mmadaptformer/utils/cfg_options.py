# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--cfg-options KEY=VALUE ...`` that also takes dicts.

MMEngine's ``DictAction`` reads numbers, booleans, ``None``, words and
nested lists and tuples, but no dict. The README's ``block_types`` option
given on the command line, ``model.backbone.block_types=[dict(type='X',
norm='ln2', ffn='ffn')]``, ended the tools with a ``RecursionError`` after
44 lines of traceback; ``key={'a':1,'b':2}`` became the list ``["{'a':1",
"'b':2}"]`` and ``key=dict(a=1)`` the string ``'dict(a=1)'``, both merged
into the config without a word. Brackets that do not balance were an
``AssertionError`` traceback.

:class:`ConfigOptions` reads a value with a dict in it (``dict(...)`` or
``{...}``) as a Python literal (:func:`parse_option_value`): constants,
lists, tuples, dicts and ``dict(key=value, ...)``; a bare word is a string,
as ``DictAction`` reads it, so a shell that ate the quotes
(``[dict(type=X)]``) still gives ``'X'``. Nothing is evaluated: anything
else (another call, an operator) is refused by name. Every other value is
read by ``DictAction`` as before. A word without ``=`` and a value it
cannot read end the tool with one line, as argparse errors do.

:func:`add_cfg_options` adds the option, with one help text, to every
tool's parser.
"""
import argparse
import ast
import copy
from typing import Any

from mmengine.config import DictAction

from .config_read_lock import parse_source

__all__ = [
    'CFG_OPTIONS_HELP', 'ConfigOptions', 'add_cfg_options',
    'parse_option_value'
]


def parse_option_value(text: str) -> Any:
    """The value of a ``KEY=VALUE`` option.

    Args:
        text (str): The VALUE.

    Returns:
        Any: A value that starts with ``{`` or ``dict(``, or a list or
        tuple with one in it, as a Python literal whose bare words are
        strings; any other as MMEngine's ``DictAction`` reads it (a word
        such as ``epoch_{}.pth`` stays a string).

    Raises:
        ValueError: For brackets that do not balance, or a literal that is
            not made of constants, lists, tuples, dicts and ``dict(...)``.
    """
    stripped = text.strip()
    dicts = 'dict(' in stripped or '{' in stripped
    if stripped.startswith(('{', 'dict(')):
        return _literal(stripped)
    if dicts and stripped.startswith(('[', '(')):
        try:
            return _literal(stripped)
        except ValueError:
            if 'dict(' in stripped:
                raise
            # '[epoch_{}.pth]': braces in words, which DictAction reads.
    try:
        return DictAction._parse_iterable(text)
    except AssertionError:  # its check that brackets balance
        raise ValueError('its brackets do not balance') from None


def _literal(text: str) -> Any:
    try:
        tree = parse_source(text.strip(), mode='eval')
    except SyntaxError as e:
        raise ValueError(f'it is no Python literal ({e.msg}, at character '
                         f'{e.offset})') from None
    return _value(tree.body)


def _value(node: ast.AST) -> Any:
    """A literal node's value; a bare name is read as DictAction reads a
    word (``true``, ``None``, a number, else the string)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return DictAction._parse_int_float_bool(node.id)
    if isinstance(node, ast.Attribute) and _dotted(node):
        return _dotted(node)
    signed = isinstance(node, ast.UnaryOp) and isinstance(
        node.op, (ast.USub, ast.UAdd))
    if signed and isinstance(node.operand, ast.Constant) and isinstance(
            node.operand.value, (int, float)):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise ValueError('it unpacks a dict with **, which is not read')
        return {_value(k): _value(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args and \
            all(keyword.arg is not None for keyword in node.keywords):
        return {
            keyword.arg: _value(keyword.value)
            for keyword in node.keywords
        }
    raise ValueError(
        f'{ast.unparse(node)!r} is not read: a value with a dict in it may '
        'hold only numbers, strings, True/False/None, lists, tuples, '
        '{...} and dict(key=value, ...)')


def _dotted(node: ast.AST) -> str:
    """``'a.b.c'`` for an attribute chain of names, else ``''``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f'{head}.{node.attr}' if head else ''
    return ''


class ConfigOptions(DictAction):
    """MMEngine's ``DictAction`` for ``--cfg-options``, reading dicts too
    (:func:`parse_option_value`); a word without ``=`` (an input given
    after the options, which take every word up to the next option) or a
    value it cannot read is the parser's error, naming the entry."""

    def __call__(self,
                 parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace,
                 values,
                 option_string=None) -> None:
        options = copy.copy(getattr(namespace, self.dest, None) or {})
        for entry in values or ():
            key, equals, text = entry.partition('=')
            if not equals or not key:
                parser.error(
                    f'{option_string}: {entry!r} is no KEY=VALUE; it takes '
                    'every word up to the next option, so give the other '
                    'arguments before it, or end its list with --')
            try:
                options[key] = parse_option_value(text)
            except ValueError as e:
                parser.error(f'{option_string} {entry}: {e}.')
        setattr(namespace, self.dest, options)


#: The help of ``--cfg-options``, MMEngine's wording, trimmed, with what
#: :class:`ConfigOptions` reads besides.
CFG_OPTIONS_HELP = (
    'override some settings in the used config: each KEY=VALUE pair is '
    'merged into the config. A list is given as key="[a,b]" or key=a,b; '
    'nested lists and tuples as key="[(a,b),(c,d)]", and dicts as '
    'key="[dict(type=\'X\',norm=\'ln2\')]" or key="{\'a\':1}". The '
    'quotation marks are necessary and no white space is allowed. It takes '
    'every word up to the next option, so give the other arguments before '
    'it.')


def add_cfg_options(parser: argparse.ArgumentParser,
                    extra_help: str = '') -> None:
    """Add ``--cfg-options KEY=VALUE ...`` to ``parser``, read by
    :class:`ConfigOptions` into ``args.cfg_options`` (a dict, None when not
    given), with the help every tool shares.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        extra_help (str): A sentence the tool adds to the help, e.g. whose
            configs the options change. Defaults to ''.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=ConfigOptions,
        metavar='KEY=VALUE',
        help=f'{CFG_OPTIONS_HELP} {extra_help}'.strip())
