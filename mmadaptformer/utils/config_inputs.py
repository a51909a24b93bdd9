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

``_base_`` files are found as MMEngine's ``Config.fromfile`` finds them
(:mod:`.config_inheritance`).
"""
import glob
import inspect
import os.path as osp
from typing import Iterator, List, Optional, Tuple
from urllib.parse import urlparse

from mmengine.config import Config
from mmengine.fileio import join_path
from mmengine.registry import DATASETS, DefaultScope
from mmengine.utils import is_abs

from .config_inheritance import config_bases
from .local_files import is_local, same_file
from .output_file import download_cache_problem
from .registry_names import registered
from .zoo_names import is_zoo_name, zoo_file_problem

__all__ = [
    'config_addresses', 'config_named_files', 'config_file_problem',
    'dataset_file', 'dataset_type_name', 'roots_classes', 'user_expanded'
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
