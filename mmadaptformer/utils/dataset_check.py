# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Build a config's datasets up front, without reading their data, so that
a dataset argument that is wrong is named as a mistake of the config.

MMEngine's Runner builds its datasets lazily inside ``train()`` and
``test()``: a dataset argument its class does not take
(``train_dataloader.dataset.bogus=1``) or a value its constructor refuses
ended the tools with a traceback through the Runner's loop
(``TypeError: BaseDataset.__init__() got an unexpected keyword argument
'bogus'``), after the work dir and its log were made. :func:`check_datasets`
builds each dataset of the dataloaders a tool will use with
``lazy_init=True`` before the Runner, which MMEngine's ``BaseDataset`` and
its wrappers take to mean: keep the arguments, build the pipeline, read no
annotation list. A failure raises a :class:`~.config_error.ConfigError`
naming the config, the key and the dataset's type.

What the full build would read first is checked to exist: the annotation
file, or the image folder of mmpretrain's ``CustomDataset`` without one.
The Runner read it while it built the dataset, so a path that was wrong
(or data not yet prepared) ended the tools with ``FileNotFoundError:
Annotation file not found`` (``No such file or directory: 'data/train'``)
after the work dir was made, and, for a validation set, after the model
was built.

Before that, each key of a dataset config is checked to be an argument
its class takes (:mod:`~.dataset_args`), so that a misspelled one is named
with the closest it takes.

A dataset class that does not take ``lazy_init`` (it is neither a
``BaseDataset`` nor has a ``lazy_init`` argument) cannot be built without
reading its data, so its loader is left to the Runner as before.

:func:`check_datasets` returns the datasets it built, so that the checks
after it (:func:`~mmadaptformer.engine.head_classes_check.
check_head_classes`) read them rather than build them again, and the tools
read them in full (:func:`~mmadaptformer.utils.early_datasets.read_datasets`)
and hand them to the Runner, which then builds none of its own.
"""
import copy
import inspect
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS

from .config_error import ConfigError
from .config_place import config_key, mistake_place, option_place
from .dataset_args import (check_dataset_arguments, dataset_class,
                           unexpected_argument_hint)
from .image_ann_file import malformed_image_list
from .image_folder_classes import misnamed_folder_classes
from .local_files import folder_not_file, is_local
from .rawframe_ann_file import malformed_rawframe_list
from .registry_names import registered, registry_miss, use_default_scope
from .video_ann_file import malformed_video_list
from .video_containers import one_line_error

__all__ = [
    'check_datasets', 'dataset_nodes', 'lazily_built', 'loader_dataset_nodes',
    'missing_data', 'refuse_malformed_video_list'
]

#: The keys under which MMEngine's and mmpretrain's dataset wrappers
#: (``ConcatDataset``, ``RepeatDataset``, ``ClassBalancedDataset``,
#: ``KFoldDataset``) take the datasets they wrap.
WRAPPED_KEYS = ('dataset', 'datasets')


def dataset_nodes(dataset: dict, key: str) -> Iterator[Tuple[str, dict]]:
    """``(key, config)`` of ``dataset`` and of every dataset config it
    wraps, outermost first
    (``train_dataloader.dataset.datasets[1]``)."""
    yield key, dataset
    for name in WRAPPED_KEYS:
        inner = dataset.get(name)
        if isinstance(inner, dict):
            yield from dataset_nodes(inner, f'{key}.{name}')
        elif isinstance(inner, (list, tuple)):
            for index, node in enumerate(inner):
                if isinstance(node, dict):
                    yield from dataset_nodes(node, f'{key}.{name}[{index}]')


def loader_dataset_nodes(cfg: Config, loader: str) -> List[Tuple[str, dict]]:
    """:func:`dataset_nodes` of a deep copy of the dataset config of one
    of ``cfg``'s dataloaders, so that they can be changed (``lazy_init``)
    and built without changing ``cfg``.

    Args:
        cfg (Config): The config.
        loader (str): The dataloader's key, e.g. ``'train_dataloader'``.

    Returns:
        list[tuple[str, dict]]: ``(key, config)`` of the loader's dataset
        (first, at ``LOADER.dataset``) and of every dataset it wraps; empty
        if the config leaves the loader unset or its dataset is no config
        dict.
    """
    loader_cfg = cfg.get(loader)
    dataset = loader_cfg.get('dataset') if isinstance(loader_cfg,
                                                      dict) else None
    if not isinstance(dataset, dict):
        return []
    return list(dataset_nodes(copy.deepcopy(dataset), f'{loader}.dataset'))


def lazily_built(dataset_type) -> Optional[bool]:
    """Whether a dataset class takes ``lazy_init``; None for a type name no
    registry in the current scope holds (building it names the miss)."""
    cls = registered(DATASETS, dataset_type)
    if not inspect.isclass(cls):
        return None
    if issubclass(cls, BaseDataset):
        return True
    try:
        return 'lazy_init' in inspect.signature(cls).parameters
    except (TypeError, ValueError):  # no signature to read: do not guess
        return False


def check_datasets(cfg: Config,
                   source: str,
                   loaders: Sequence[str],
                   options: Optional[dict] = None) -> Dict[str, object]:
    """Check the arguments of the dataset of each named dataloader, and
    of every dataset it wraps (:func:`~.dataset_args.check_dataset_arguments`),
    and build each with ``lazy_init=True``, in the config's
    ``default_scope``.

    Args:
        cfg (Config): The config.
        source (str): The config file, for errors.
        loaders (Sequence[str]): e.g. ``('train_dataloader',
            'val_dataloader')``; one the config leaves unset, or whose
            dataset is no config dict, is skipped.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Returns:
        dict: ``{loader: dataset}``: the dataset of each loader that was
        built, with ``lazy_init=True`` (its wrappers' datasets inside it);
        a loader skipped, or whose dataset (or one it wraps) does not take
        ``lazy_init``, is left out.

    Raises:
        ConfigError: If a dataset cannot be built: naming ``source`` (and
            the ``--cfg-options`` set under the dataset's key), the key and
            the type, or, for a type no registry holds, the closest
            registered names (:func:`~.registry_names.registry_miss`).
            A :class:`ConfigError` or ``FileNotFoundError`` (whose message
            names the file) is raised as it is. A local annotation file
            or image folder that does not exist (:func:`missing_data`) is
            named with its key, and so are class names that do not fit
            the class folders of a ``CustomDataset`` without one
            (:func:`~.image_folder_classes.misnamed_folder_classes`) and
            the first line of its ``ann_file`` that it cannot read
            (:func:`~.image_ann_file.malformed_image_list`), and the first
            line of a video or frame list it cannot read
            (:func:`refuse_malformed_video_list`). An argument its class
            does not take is named with the closest it takes.
    """
    use_default_scope(cfg)
    datasets = {}
    for loader in loaders:
        nodes = loader_dataset_nodes(cfg, loader)
        if not nodes:
            continue
        for key, node in reversed(nodes):
            check_dataset_arguments(node, key, source, options)
        if False in [lazily_built(node.get('type')) for _, node in nodes]:
            continue
        for _, node in nodes:
            node['lazy_init'] = True
        # Innermost first, so that the error names the dataset at fault,
        # not the wrapper around it.
        for key, node in reversed(nodes):
            try:
                built = DATASETS.build(copy.deepcopy(node))
            except Exception as e:
                raise _dataset_error(e, node, key, cfg, source, options) from e
            missing = missing_data(built) or misnamed_folder_classes(
                built, node) or malformed_image_list(built)
            if missing is not None:
                argument, what = missing
                where = mistake_place(source, f'{key}.{argument}', options)
                raise ConfigError(f'{where} ({_type_name(node)}): {what}.')
            refuse_malformed_video_list(built, key, source, options)
        # Built last: the outermost, holding the datasets it wraps.
        datasets[loader] = built
    return datasets


def refuse_malformed_video_list(dataset,
                                key: str,
                                source: str,
                                options: Optional[dict] = None) -> None:
    """Refuse a built mmaction2 ``VideoDataset``
    (:func:`~.video_ann_file.malformed_video_list`) or ``RawframeDataset``
    (:func:`~.rawframe_ann_file.malformed_rawframe_list`), or subclass,
    whose annotation list it cannot read; anything else passes.

    Args:
        dataset: A dataset built with ``lazy_init=True`` (as
            :func:`check_datasets` builds them).
        key (str): Its config key, e.g. ``'train_dataloader.dataset'``.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: For a line its ``delimiter`` does not split, naming
            the ``delimiter`` key and its value, the file, the line and,
            if another delimiter splits it, that one; else naming the key
            at fault (``ann_file``, ``data_prefix``, ``filename_tmpl``,
            ``start_index``, ``num_classes``), the line and the folder,
            frame or label.
    """
    name = type(dataset).__name__
    refuse_unusable_delimiter(dataset, key, source, options)
    bad = malformed_rawframe_list(dataset) or malformed_video_list(dataset)
    if bad is None:
        return
    if bad.argument != 'delimiter':
        where = mistake_place(source, f'{key}.{bad.argument}', options)
        raise ConfigError(f'{where} ({name}): {bad.what}.')
    place = (
        option_place(f'{key}.delimiter', options)
        or f'{source}: {key}.delimiter={dataset.delimiter!r}')
    fix = (f': set {key}.delimiter={bad.delimiter!r}.'
           if bad.delimiter is not None else '.')
    raise ConfigError(f'{place} ({name}) {bad.what}{fix}')


def refuse_unusable_delimiter(dataset,
                              key: str,
                              source: str,
                              options: Optional[dict] = None) -> None:
    """Refuse a dataset ``delimiter`` that is not a non-empty str (or None,
    which ``str.split`` reads as any whitespace).

    MMEngine's ``--cfg-options`` reads ``KEY.delimiter=,`` as the list
    ``['', '']`` and removes the spaces of ``KEY.delimiter=' '``, leaving
    ``''``; both ended the list check (and mmaction2's ``load_data_list``)
    in a ``TypeError`` or ``ValueError: empty separator`` traceback.

    Args:
        dataset: A built dataset; one without a ``delimiter`` passes.
        key (str): Its config key, e.g. ``'train_dataloader.dataset'``.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key, its value and how to set it.
    """
    delimiter = getattr(dataset, 'delimiter', ' ')
    if delimiter is None or (isinstance(delimiter, str) and delimiter):
        return
    given = option_place(f'{key}.delimiter', options)
    place = given or f'{source}: {key}.delimiter={delimiter!r}'
    how = (': --cfg-options reads a value with a comma as a list and '
           'removes spaces, so set the delimiter in the config file'
           if given else '')
    raise ConfigError(
        f'{place} ({type(dataset).__name__}): the delimiter that splits '
        "each line of the list must be a non-empty str, such as ' ' or "
        f"','{how}.")


def missing_data(dataset) -> Optional[Tuple[str, str]]:
    """What a lazily built ``BaseDataset`` will read first and lacks: its
    annotation file (``ann_file``, joined to ``data_root``) or, for
    mmpretrain's ``CustomDataset`` without one, the folder whose class
    folders it lists (``data_prefix``).

    Only local paths are checked: one behind a URI (``s3://``,
    ``http://``) or a non-local ``backend_args`` is left to its backend,
    and nothing is read here.

    Args:
        dataset: A dataset built with ``lazy_init=True``.

    Returns:
        tuple, optional: ``(argument, what)``, e.g. ``('ann_file', 'the
        annotation file data/val.txt does not exist')``, or that it is a
        folder (:func:`~.local_files.folder_not_file`, as the datasets
        word it when they read it); None if nothing is missing or nothing
        could be checked.
    """
    if not isinstance(dataset, BaseDataset):
        return None
    backend = getattr(dataset, 'backend_args', None) or {}
    if backend.get('backend', 'local') != 'local':
        return None
    ann_file = getattr(dataset, 'ann_file', None)
    if isinstance(ann_file, str) and ann_file:
        if not is_local(ann_file) or osp.isfile(ann_file):
            return None
        what = 'the annotation file'
        return 'ann_file', folder_not_file(ann_file, what) or _noted(
            f'{what} {ann_file} does not exist', _relative_note(ann_file))
    try:
        from mmpretrain.datasets import CustomDataset
    except ImportError:  # no mmpretrain: none of its datasets to check
        return None
    folder = dataset.data_prefix.get('img_path') if isinstance(
        dataset, CustomDataset) else None
    if not isinstance(folder, str) or not is_local(folder) or osp.isdir(
            folder or '.'):
        return None
    return 'data_prefix', _noted(
        f'the image folder {folder} does not exist',
        f'without an ann_file, {type(dataset).__name__} lists the class '
        'folders in it', _relative_note(folder))


def _noted(text: str, *notes: str) -> str:
    """``text (NOTE; NOTE)`` with the notes that are not empty."""
    notes = tuple(note for note in notes if note)
    return f'{text} ({"; ".join(notes)})' if notes else text


def _relative_note(path: str) -> str:
    """Where a relative ``path`` was looked for: the working directory,
    which is not the config's folder (a run from another directory read
    ``data/tiny_video/val.txt`` from there, and the message did not say
    so); ``''`` for an absolute one."""
    if osp.isabs(path):
        return ''
    return (f'a relative path, read from the working directory '
            f"{os.getcwd()}, not from the config's folder")


def _type_name(dataset: dict) -> str:
    kind = dataset.get('type')
    return getattr(kind, '__name__', kind)


def _dataset_error(error: Exception, dataset: dict, key: str, cfg: Config,
                   source: str, options: Optional[dict]) -> Exception:
    """The error to raise for ``dataset`` (at ``key``) failing to build."""
    miss = registry_miss(error, cfg, source, options)
    if miss is not None:
        return miss
    if isinstance(error, (ConfigError, FileNotFoundError)):
        return error
    kind = _type_name(dataset)
    given = [
        f'{k}={v!r}' for k, v in (options or {}).items()
        if config_key(k).startswith(f'{key}.')
    ]
    where = f'{source}: {key}' + (f' ({kind})' if kind else '')
    if given:
        where += f' with --cfg-options {" ".join(given)}'
    hint = unexpected_argument_hint(error, dataset_class(dataset))
    return ConfigError(f'{where} cannot be built: '
                       f'{one_line_error(error, end=hint + ".")}')
