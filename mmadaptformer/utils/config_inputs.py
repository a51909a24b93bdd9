# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The files a config reads, so that a tool's output does not replace them.

``tools/infer.py --out`` and ``tools/test.py --out/--dump`` refuse an
output that is one of their command line's files
(:func:`.output_file.output_file_problem`). A config reads more: its
``_base_`` files, and the files its keys name (``load_from``, the
backbone's ``init_cfg.checkpoint``, a dataset's ``ann_file`` and
``classes``, the label map next to an ``ann_file`` that ``tools/data/*``
write and ``tools/infer.py`` reads), each where its reader reads it
(:func:`dataset_file`): with ``~`` expanded by the checkpoint loaders and
mmpretrain's datasets, not by mmaction2's, and under ``data_root`` where
the dataset joins it. :func:`config_file_problem` names an output that is
one of those, or the download cache's copy (or its record) of an address
or model-zoo name (``torchvision://resnet18``, :mod:`.zoo_names`) those
keys name, before anything is run.

``_base_`` files are found as MMEngine's ``Config.fromfile`` finds them,
which has no public way to list them: a ``_base_`` string or list (after
the ``{{ fileDirname }}``-style and ``{{$ENV:default}}`` substitutions),
relative to the folder of the file that names it, in Python, JSON and YAML
configs, and the relative ``from .x import *`` lines inside ``with
read_base():`` of pure-Python configs. Bases in an installed package
(``mmaction::...``, ``from mmaction.configs...``) are not followed.
"""
import ast
import glob
import inspect
import io
import os
import os.path as osp
import re
from typing import Iterator, List, Optional, Tuple
from urllib.parse import urlparse

import mmengine
from mmengine.config import Config
from mmengine.fileio import join_path
from mmengine.registry import DATASETS, DefaultScope
from mmengine.utils import is_abs

from .local_files import is_local, same_file
from .output_file import download_cache_problem
from .registry_names import registered
from .zoo_names import is_zoo_name, zoo_file_problem

__all__ = [
    'base_files', 'config_addresses', 'config_bases', 'config_named_files',
    'config_file_problem', 'dataset_file', 'dataset_type_name',
    'missing_base_place', 'roots_classes', 'user_expanded'
]

#: Config keys (at any depth) whose string value is a file the run reads.
READ_KEYS = ('load_from', 'checkpoint', 'pretrained', 'ann_file', 'classes')
#: Those of :data:`READ_KEYS` that name a checkpoint, which a load of an
#: address downloads into the checkpoint download cache.
CHECKPOINT_KEYS = ('load_from', 'checkpoint', 'pretrained')
#: The dataset types that read a relative ``classes`` file under their
#: ``data_root`` (:class:`~mmadaptformer.datasets.CheckedImageDataset`);
#: mmpretrain's ``BaseDataset`` reads it as given, from the working folder.
ROOTED_CLASSES = ('CheckedImageDataset', 'mmpretrain.CheckedImageDataset')
#: The dataset classes whose constructors expand ``~`` (``osp.expanduser``)
#: in these arguments before reading them, by the qualified name of a class
#: of their MRO: mmpretrain's ``BaseDataset`` (``CustomDataset``,
#: ``ImageNet``, ours) and its ``MultiTaskDataset``. MMEngine's
#: ``BaseDataset``, and with it every mmaction2 dataset, expands none:
#: there ``ann_file='~/val.txt'`` is a file in a folder named ``~`` (under
#: ``data_root``). A checkpoint's loader (MMEngine's and ours) expands
#: ``~`` in every one of :data:`CHECKPOINT_KEYS`.
USER_EXPANDED = {
    'mmpretrain.datasets.base_dataset.BaseDataset': ('ann_file', 'classes'),
    'mmpretrain.datasets.multi_task.MultiTaskDataset':
    ('ann_file', 'data_root'),
}

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
    body = ast.parse(text, filename=filename).body
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
        body = ast.parse(text, filename=path).body
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


def _strings(node, key: str = '') -> Iterator[Tuple[str, object, dict]]:
    """``(key, value, parent)`` of every dict entry in a config tree."""
    if isinstance(node, dict):
        for name, value in node.items():
            full = f'{key}.{name}' if key else str(name)
            yield full, value, node
            yield from _strings(value, full)
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _strings(value, f'{key}[{index}]')


def dataset_type_name(dataset: dict):
    """The ``type`` of the dataset config ``dataset`` as a name: a
    pure-Python config gives the class, whose name this is."""
    kind = dataset.get('type')
    return getattr(kind, '__name__', kind)


def roots_classes(dataset: dict) -> bool:
    """Whether the dataset config ``dataset`` reads a relative ``classes``
    file under its ``data_root`` (its type is one of
    :data:`ROOTED_CLASSES`, given by name or as the class)."""
    return dataset_type_name(dataset) in ROOTED_CLASSES


def user_expanded(dataset: dict,
                  scope: Optional[str] = None) -> Tuple[str, ...]:
    """The arguments of the dataset config ``dataset`` in which the class it
    builds expands ``~`` (:data:`USER_EXPANDED`); none for a type that no
    registry holds.

    Args:
        dataset (dict): The dataset config.
        scope (str, optional): The config's ``default_scope``, in which
            its ``type`` is looked up (unless it has a ``_scope_``).
            Defaults to None (the current one).

    Returns:
        tuple[str]: E.g. ``('ann_file', 'classes')``.
    """
    with DefaultScope.overwrite_default_scope(scope):
        cls = registered(DATASETS, dataset.get('type'), dataset.get('_scope_'))
    for base in inspect.getmro(cls) if inspect.isclass(cls) else ():
        names = USER_EXPANDED.get(f'{base.__module__}.{base.__qualname__}')
        if names is not None:
            return names
    return ()


def dataset_file(name: str,
                 path: str,
                 dataset: dict,
                 scope: Optional[str] = None) -> Tuple[str, bool]:
    """The file the dataset config ``dataset`` reads for its argument
    ``name`` (``'ann_file'`` or ``'classes'``) given as ``path``: with
    ``~`` expanded where its class expands it (:func:`user_expanded`, its
    ``data_root`` too), then a relative ``ann_file`` (and ``classes`` for
    :data:`ROOTED_CLASSES`) under its ``data_root``, as MMEngine joins
    it.

    Args:
        name (str): The argument.
        path (str): Its value, a local path.
        dataset (dict): The dataset config.
        scope (str, optional): The config's ``default_scope``. Defaults to
            None (the current one).

    Returns:
        tuple[str, bool]: The path, and whether it is under ``data_root``.
    """
    expanded = user_expanded(dataset, scope)
    if name in expanded:
        path = osp.expanduser(path)
    root = dataset.get('data_root')
    if not isinstance(root, str) or not root or is_abs(path):
        return path, False
    under = name == 'ann_file' or (name == 'classes'
                                   and roots_classes(dataset))
    if not under:
        return path, False
    if 'data_root' in expanded:
        root = osp.expanduser(root)
    return join_path(root, path), True


def config_named_files(cfg: Config) -> List[Tuple[str, str]]:
    """The files a config's keys name for the run to read.

    Those are the string values of the keys in :data:`READ_KEYS` at any
    depth (``model.backbone.backbone.init_cfg.checkpoint``), read as their
    readers read them (:func:`dataset_file`): a checkpoint with ``~``
    expanded, a dataset's ``ann_file`` under its ``data_root`` and its
    ``classes`` under it for :data:`ROOTED_CLASSES` (mmpretrain's own
    datasets read that file as given), each with ``~`` expanded where the
    dataset's class expands it; and the ``*label_map.txt`` files next to
    an ``ann_file``.

    Args:
        cfg (Config): The config.

    Returns:
        list[tuple[str, str]]: ``(what, path)``, e.g.
        ``('test_dataloader.dataset.ann_file', 'data/val.txt')``.
    """
    named = []
    scope = cfg.get('default_scope')
    for key, value, parent in _strings(cfg.to_dict()):
        name = key.rsplit('.', 1)[-1]
        if name not in READ_KEYS or not isinstance(value, str) or \
                not value or not is_local(value):
            continue
        if name in CHECKPOINT_KEYS:
            value = osp.expanduser(value)
        else:
            value, under = dataset_file(name, value, parent, scope)
            if under:
                key = f'{key} (under data_root)'
        named.append((key, value))
        if name == 'ann_file':
            for label_map in sorted(
                    glob.glob(
                        osp.join(
                            glob.escape(osp.dirname(value)),
                            '*label_map.txt'))):
                named.append(
                    (f'the label map next to {key.split(" ")[0]}', label_map))
    return named


def config_addresses(cfg: Config) -> List[Tuple[str, str]]:
    """The ``http(s)://`` addresses and model-zoo names
    (``torchvision://resnet18``, :mod:`.zoo_names`) a config's keys name
    for the run to read (a pretrained backbone's ``init_cfg.checkpoint``,
    ``load_from``), which a load downloads into the checkpoint download
    cache.

    Args:
        cfg (Config): The config.

    Returns:
        list[tuple[str, str]]: ``(what, address)``, e.g.
        ``('model.backbone.init_cfg.checkpoint', 'https://...')``.
    """
    return [
        (key, value) for key, value, _ in _strings(cfg.to_dict())
        if key.rsplit('.', 1)[-1] in CHECKPOINT_KEYS
        and isinstance(value, str) and (
            urlparse(value).scheme in ('http', 'https') or is_zoo_name(value))
    ]


def config_file_problem(out: str, what: str, config: str,
                        cfg: Optional[Config]) -> Optional[str]:
    """``'WHAT OUT is ... of CONFIG; ...'`` if writing ``out`` would replace
    a file the config reads, else None.

    Args:
        out (str): The output path, as the command line gives it.
        what (str): How the command line names it (``'--out'``).
        config (str): The config file.
        cfg (Config, optional): The loaded config (with ``--cfg-options``);
            None checks the ``_base_`` files only.

    Returns:
        str | None: The line for ``parser.error``.
    """
    if not is_local(out):
        return None
    # The place an address is downloaded to may not be there yet: written
    # first, the cache would hand the output out as the address's file.
    problem = download_cache_problem(
        out, what,
        [url for _, url in config_addresses(cfg)]) if cfg is not None else None
    if problem:
        return problem
    # Only a file that is there can be replaced.
    if not osp.isfile(out):
        return None
    parents = {}
    for base, child in config_bases(config):
        parents.setdefault(base, child)
        if same_file(out, base):
            # The files between it and the config, which is last.
            lineage = [child]
            while lineage[-1] in parents:
                lineage.append(parents[lineage[-1]])
            via = ''.join(f'{osp.relpath(c)}, a _base_ of '
                          for c in lineage[:-1])
            return (f'{what} {out} is a _base_ of {via}the config {config}; '
                    'it would be overwritten. Give another file.')
    for key, path in config_named_files(cfg) if cfg is not None else []:
        if osp.isfile(path) and same_file(out, path):
            named = '' if path == out else f' ({path})'
            return (f'{what} {out} is {key} of the config {config}{named}; '
                    'it would be overwritten. Give another file.')
    return zoo_file_problem(
        out, what,
        [name for _, name in config_addresses(cfg)]) if cfg is not None \
        else None
