# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Config text stored in a checkpoint runs only if it is plain data.

A checkpoint's tensors load through ``weights_only``, but MMEngine also
runs Python from it: ``Runner.resume`` (and ``FlexibleRunner``'s) builds a
config from ``meta['config']`` to compare GPU counts, and an Inferencer
given ``model=None`` builds the model from ``message_hub`` or
``meta['cfg']``. Both call ``Config.fromstring(text, '.py')``, which
executes the text. A config that MMEngine saved is assignments of literals
and ``dict(...)`` calls; anything else in a stored text (a call, an import,
an attribute, ``_base_`` files, ``custom_imports`` of a module not yet
imported) is refused before it runs, by :func:`check_stored_config`, while
one of those callers is on the stack (:func:`running_stored_config`).

The text MMEngine runs is not the text it is given: ``Config.fromfile``
first replaces its ``{{$ENV:default}}``, ``{{ fileDirname }}`` (and the
other file names) and ``{{_base_.key}}`` templates, inserting the default,
a path or a quoted name as raw text. Such a replacement can end a string
and turn what was data into code (``x = {{'$V:...'}}`` is a set literal
before and ``x = ...`` after). A config MMEngine saved has them replaced
already, so stored text that holds one is refused as well.
"""
import ast
import contextlib
import contextvars
import functools
import re
import sys
from typing import Callable, Iterator, Optional

from .config_read_lock import parse_source

__all__ = [
    'StoredConfigError', 'check_stored_config', 'running_stored_config',
    'guard_stored_config_execution'
]

#: What is running a stored config now (for the error), if anything.
_RUNNING: contextvars.ContextVar = contextvars.ContextVar(
    'mmadaptformer_stored_config', default=None)


class StoredConfigError(ValueError):
    """Config text from a checkpoint that is not plain data."""


def _refuse(node: ast.AST, text: str, what: str) -> None:
    snippet = ast.get_source_segment(text, node) or type(node).__name__
    raise StoredConfigError(f'line {node.lineno}: {snippet[:80]!r} {what}')


def _check_value(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.Constant):
        return
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for item in node.elts:
            _check_value(item, text)
        return
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values):
            if key is None:
                _refuse(value, text, 'unpacks a value (**)')
            _check_value(key, text)
            _check_value(value, text)
        return
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict' and not node.args \
            and all(k.arg is not None for k in node.keywords):
        for keyword in node.keywords:
            _check_value(keyword.value, text)
        return
    signed = (ast.USub, ast.UAdd)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, signed) \
            and isinstance(node.operand, ast.Constant):
        return
    _refuse(node, text, 'is code, not data')


#: The start of a template ``Config.fromfile`` replaces before it runs a
#: ``.py`` config (mmengine 0.10.7: ``_substitute_env_variables``,
#: ``_substitute_predefined_vars``, ``_pre_substitute_base_vars``), matched
#: more loosely than MMEngine matches it, so a variant it also takes is not
#: missed.
_TEMPLATE = re.compile(r"""\{\{\s*['"]?\s*"""
                       r'(\$|_base_\s*\.|file(Dirname|Basename|Extname))')


def _refuse_templates(text: str) -> None:
    found = _TEMPLATE.search(text)
    if found is None:
        return
    lineno = text.count('\n', 0, found.start()) + 1
    line = text.splitlines()[lineno - 1].strip()
    raise StoredConfigError(
        f'line {lineno}: {line[:80]!r} holds a {found.group(0)!r}... '
        'template, which MMEngine replaces in the text before running it, '
        'so what would run is not the text that was checked')


def check_stored_config(text: str) -> None:
    """Refuse config text that would do more than assign data.

    Allowed: assignments ``name = value`` whose values are literals, lists,
    tuples, sets, dicts, ``dict(key=value, ...)`` and signed numbers, and a
    docstring. ``_base_`` (it reads other files) is refused, and so is
    ``custom_imports`` of a module not imported yet (importing it runs its
    code); modules already imported are a no-op to import again. So is
    a ``{{$ENV:default}}``, ``{{ fileDirname }}``-style or
    ``{{_base_.key}}`` template anywhere in the text, comments and strings
    included: MMEngine replaces them before it runs the text, and the
    replacement can turn data into code.

    Args:
        text (str): The config text.

    Raises:
        StoredConfigError: Naming the line and what is on it.
    """
    _refuse_templates(text)
    try:
        tree = parse_source(text)
    except SyntaxError as e:
        raise StoredConfigError(f'line {e.lineno}: not Python ({e.msg})')
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            _refuse(node, text, 'is a statement, not an assignment of data')
        name = node.targets[0].id
        if name == '_base_':
            _refuse(node, text, 'inherits other config files')
        _check_value(node.value, text)
        if name == 'custom_imports':
            imports = ast.literal_eval(node.value) if isinstance(
                node.value, ast.Dict) else {
                    k.arg: ast.literal_eval(k.value)
                    for k in getattr(node.value, 'keywords', [])
                }
            modules = imports.get('imports', []) if isinstance(imports,
                                                               dict) else []
            modules = [modules] if isinstance(modules, str) else modules
            new = [m for m in modules if m not in sys.modules]
            if new:
                _refuse(
                    node, text, f'imports {new}, which are not imported '
                    'yet: importing them would run their code')


@contextlib.contextmanager
def running_stored_config(caller: str) -> Iterator[None]:
    """Within this, ``Config.fromstring(text, '.py')`` checks ``text``.

    Args:
        caller (str): What runs the stored config and where it reads it,
            for the error.
    """
    token = _RUNNING.set(caller)
    try:
        yield
    finally:
        _RUNNING.reset(token)


def _checked_fromstring(fromstring: Callable) -> Callable:

    @functools.wraps(fromstring)
    def checked(cfg_str, file_format, *args, **kwargs):
        caller: Optional[str] = _RUNNING.get()
        if caller is not None and file_format == '.py':
            try:
                check_stored_config(cfg_str)
            except StoredConfigError as e:
                raise StoredConfigError(
                    f'Refused to run the config stored in a checkpoint: '
                    f'{caller}. {e}. A config MMEngine saves only assigns '
                    'data; nothing of this one ran. Do not use this '
                    'checkpoint, or give the config file yourself where '
                    'the tool takes one.') from None
        return fromstring(cfg_str, file_format, *args, **kwargs)

    return checked


def _within(method: Callable, caller: str) -> Callable:

    @functools.wraps(method)
    def wrapped(*args, **kwargs):
        with running_stored_config(caller):
            return method(*args, **kwargs)

    return wrapped


def guard_stored_config_execution() -> None:
    """Check every config MMEngine runs from a checkpoint.

    Wraps ``Config.fromstring`` (checked only within
    :func:`running_stored_config`), and runs ``Runner.resume``,
    ``FlexibleRunner.resume`` and MMEngine's ``BaseInferencer.__init__``
    (which mmaction2's Inferencers call; mmpretrain 1.x's have a
    ``BaseInferencer`` of their own, which refuses ``model=None``) within
    it. Called once, by
    :func:`~mmadaptformer.utils.apply_upstream_fixes`.
    """
    from mmengine.config import Config
    from mmengine.infer import BaseInferencer
    from mmengine.runner import FlexibleRunner, Runner
    fromstring = Config.__dict__['fromstring'].__func__
    Config.fromstring = staticmethod(_checked_fromstring(fromstring))
    resume = ("Runner.resume reads the checkpoint's meta['config'] to "
              'compare GPU counts')
    Runner.resume = _within(Runner.resume, resume)
    FlexibleRunner.resume = _within(
        FlexibleRunner.resume, 'FlexibleRunner.' + resume[len('Runner.'):])
    BaseInferencer.__init__ = _within(
        BaseInferencer.__init__,
        'an Inferencer given model=None builds the model from the config '
        "in the checkpoint's message_hub or meta['cfg']")
