# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the head's ``num_classes`` against the data before the Runner.

:class:`~.hooks.config_check_hook.ConfigCheckHook` compares the head's
``num_classes`` with the number of classes each dataset of the run
declares, at ``before_train`` and ``before_test``: after the Runner had
made the work dir, its log, the model and the datasets.
:func:`check_head_classes` makes the same comparison first, for a config
whose hooks hold a ``ConfigCheckHook``, from what it can tell without
building the model or reading the data:

* the head's, the data preprocessor's and each batch blending's
  ``num_classes`` from the model config (the values the built modules
  hold; the preprocessor is the top-level ``data_preprocessor`` of an
  MMPretrain config whose model names none, as the Runner builds it);
* each dataset built with ``lazy_init=True`` by
  :func:`~mmadaptformer.utils.dataset_check.check_datasets`, which the
  tools hand over rather than build it twice (no annotation list is
  read): the ``num_classes`` of MMAction2 datasets,
  ``metainfo['classes']`` of MMPretrain ones, and the class folders that
  mmpretrain's ``CustomDataset`` without an ``ann_file`` or ``classes``
  lists (one directory listing).

Labels outside ``[0, num_classes)`` need the whole annotation list; the
hook still checks them once the Runner has read it, and warns there of a
training list whose labels stop short of the head's classes (a warning
stops nothing, and there it is in the run's log file).
"""
import os.path as osp
from typing import Iterator, List, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import DATASETS

from mmadaptformer.utils import HEAD_NAMES, ConfigError
from mmadaptformer.utils.config_place import config_key, option_place
from mmadaptformer.utils.dataset_check import (lazily_built,
                                               loader_dataset_nodes)
from mmadaptformer.utils.hook_entries import hook_entries
from mmadaptformer.utils.local_files import is_local
from mmadaptformer.utils.runner_type import mmengine_runner
from .hooks.config_check_hook import (ConfigCheckHook, data_preprocessor_key,
                                      dataset_classes, dataset_num_classes)
from .hooks.strict_evaluation import wrapped_datasets

__all__ = ['check_head_classes', 'config_check_heads', 'folder_classes']


def config_check_heads(cfg: Config) -> Optional[List[str]]:
    """The ``head`` names of the config's first ``ConfigCheckHook`` (or
    subclass, :func:`~mmadaptformer.utils.hook_entries.hook_entries`), in
    ``default_hooks`` or ``custom_hooks``; None if it has none."""
    for found in hook_entries(cfg, ConfigCheckHook):
        head = found.entry.get('head', HEAD_NAMES)
        return [head] if isinstance(head, str) else list(head)
    return None


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _head(model: dict, heads: Sequence[str]) -> Optional[Tuple[str, int]]:
    for name in heads:
        head = model.get(name)
        number = head.get('num_classes') if isinstance(head, dict) else None
        if _int(number):
            return f'model.{name}.num_classes', number
    return None


def _model_classes(cfg: Config, model: dict) -> Iterator[Tuple[str, int]]:
    """``(key, num_classes)`` of the data preprocessor (the model's, else
    the top-level one the Runner gives it) and of each batch blending, as
    the hook reads them from the built model."""
    key = data_preprocessor_key(cfg)
    preprocessor = model.get('data_preprocessor') \
        if key.startswith('model.') else cfg.get('data_preprocessor')
    if not isinstance(preprocessor, dict):
        return
    if _int(preprocessor.get('num_classes')):
        yield f'{key}.num_classes', preprocessor['num_classes']
    blending = preprocessor.get('blending')
    if not isinstance(blending, dict):
        return
    augments = blending.get('augments')
    blendings = [(f'{key}.blending.augments[{index}]', augment)
                 for index, augment in enumerate(augments)] \
        if isinstance(augments, list) else [(f'{key}.blending', blending)]
    for where, each in blendings:
        if isinstance(each, dict) and _int(each.get('num_classes')):
            yield f'{where}.num_classes', each['num_classes']


def folder_classes(dataset) -> Optional[Tuple[str, ...]]:
    """The class folders a lazily built mmpretrain ``CustomDataset``
    without an ``ann_file`` will label in order (``find_folders``), if it
    declares no class names and its folder is local; else None."""
    try:
        from mmpretrain.datasets import CustomDataset
        from mmpretrain.datasets.custom import find_folders
    except ImportError:  # no mmpretrain: none of its datasets to read
        return None
    if not isinstance(dataset, CustomDataset) or dataset.ann_file or \
            not dataset.with_label or dataset_classes(dataset):
        return None
    folder = dataset.data_prefix.get('img_path')
    backend = getattr(dataset, 'backend_args', None) or {}
    if not isinstance(folder, str) or not is_local(folder) or \
            backend.get('backend', 'local') != 'local' or \
            not osp.isdir(folder):
        return None
    return tuple(find_folders(folder)[0])


def _lazy_datasets(
        cfg: Config, loader: str,
        datasets: Optional[Mapping]) -> Iterator[Tuple[str, object]]:
    """``(key, dataset)`` of each dataset that holds samples in the
    loader's dataset, built with ``lazy_init=True`` (taken from
    ``datasets`` if given, else built here); none if a dataset of it
    cannot be built so (it is left to the hook)."""
    nodes = loader_dataset_nodes(cfg, loader)
    if not nodes:
        return
    if any(lazily_built(node.get('type')) is not True for _, node in nodes):
        return
    if datasets is not None:
        built = datasets.get(loader)
    else:
        for _, node in nodes:
            node['lazy_init'] = True
        built = DATASETS.build(nodes[0][1])
    for key, member in wrapped_datasets(built, f'{loader}.dataset'):
        if getattr(member, 'dataset', None) is None and \
                not getattr(member, 'datasets', None):
            yield key, member


def _declared(key: str, dataset) -> Optional[Tuple[str, int, List[str]]]:
    """What ``dataset`` (at ``key``) says of its classes: its problem text
    for a number other than the head's, the number, and the config keys
    that set it; None if it declares nothing."""
    declared = dataset_num_classes(dataset)
    name = type(dataset).__name__
    if declared is not None and declared[1] == 'num_classes':
        return f'{key}.num_classes={declared[0]}', declared[0], \
            [f'{key}.num_classes']
    names = dataset_classes(dataset)
    how = f"len(metainfo['classes']) of {name}"
    if names is None:
        names = folder_classes(dataset)
        if not names:
            return None
        how = f"class folders of {name} in {dataset.data_prefix['img_path']}"
    shown = names[:6] + (('...', ) if len(names) > 6 else ())
    return (f'{key} has {len(names)} classes ({how}) {shown}', len(names), [
        f'{key}.classes', f'{key}.metainfo', f'{key}.data_root',
        f'{key}.data_prefix'
    ])


def _place(source: str, keys: Sequence[str], options: Optional[dict]) -> str:
    """The first ``--cfg-options`` entry that set one of ``keys``, else
    the config file."""
    for key in keys:
        place = option_place(config_key(key), options)
        if place is not None:
            return place
    return source


def check_head_classes(cfg: Config,
                       source: str,
                       loaders: Sequence[str],
                       options: Optional[dict] = None,
                       datasets: Optional[Mapping] = None) -> None:
    """Refuse, as :class:`~.hooks.config_check_hook.ConfigCheckHook` would
    once the Runner runs, a head whose ``num_classes`` differs from the
    model's other ``num_classes`` or from the classes the datasets of
    ``loaders`` declare.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged; one without a
            ``ConfigCheckHook``, with a ``runner_type`` other than
            MMEngine's, or whose head sets no int ``num_classes``, is not
            checked.
        source (str): The config file, for errors.
        loaders (Sequence[str]): e.g. ``('train_dataloader',
            'val_dataloader')``; one the config leaves unset is skipped.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        datasets (Mapping[str, object], optional): ``{loader: dataset}``,
            the datasets :func:`~mmadaptformer.utils.dataset_check.
            check_datasets` (or :func:`~mmadaptformer.utils.
            dataloader_check.check_dataloaders`) built from this ``cfg``
            and returned, read instead of building them again; a loader it
            left out is not read. None: each is built here. Defaults to
            None.

    Raises:
        ConfigError: The hook's message (both keys and values, e.g.
            ``model.cls_head.num_classes=3 but
            train_dataloader.dataset.num_classes=2``), led by the
            ``--cfg-options`` entry that set one of them, or else the
            config file.
    """
    if not mmengine_runner(cfg):
        return
    heads = config_check_heads(cfg)
    model = cfg.get('model')
    head = _head(model, heads) if heads and isinstance(model, dict) else None
    if head is None:
        return
    head_key, head_classes = head
    keys = [head_key]
    problems = []
    for key, number in _model_classes(cfg, model):
        if number != head_classes:
            problems.append(f'{key}={number}')
            keys.append(key)
    model_only = bool(problems)
    hidden = set()
    for loader in loaders:
        for key, dataset in _lazy_datasets(cfg, loader, datasets):
            declared = _declared(key, dataset)
            if declared is None or declared[1] == head_classes:
                continue
            text, _, set_by = declared
            model_only = False
            problems.append(text)
            keys += set_by
            names = dataset_classes(dataset) or folder_classes(dataset) or ()
            hidden.update(n for n in names if n.startswith('.'))
    if not problems:
        return
    where = _place(source, keys, options)
    found = f'{head_key}={head_classes} but ' + ' and '.join(problems)
    if model_only:
        named = ' and '.join(problem.split('=')[0] for problem in problems)
        raise ConfigError(
            f'{where}: {found}. Set {named} to {head_classes} too (a stock '
            "config's values are those of its own dataset), or all of them "
            'to the number of classes of the data.')
    hint = f' Remove the hidden class folders {sorted(hidden)}, which ' \
        "mmpretrain's CustomDataset counts as classes, or set" if hidden \
        else ' Set'
    raise ConfigError(
        f'{where}: {found}.{hint} {head_key} to the number of classes of '
        'the data (and every other num_classes of the config with it).')
