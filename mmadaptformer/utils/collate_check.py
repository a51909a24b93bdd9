# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a dataloader whose ``collate_fn`` does not fit its dataset's
samples, before the work dir is made.

mmaction2's ``RepeatAugDataset`` (the MViT recipes) gives each video as a
list of ``num_repeats`` samples, which only ``repeat_pseudo_collate``
flattens into one batch; every other dataset (``VideoDataset``, a
``BaseDataset`` whose ``prepare_data`` is MMEngine's, or a class that
sets ``one_dict_per_sample = True``, as our checked datasets do) gives one
dict.
Replacing the stock dataset with ``dataset=dict(_delete_=True,
type='VideoDataset', ...)`` kept the recipe's ``repeat_pseudo_collate``,
which then flattened each sample's keys: the first training step failed
in the data preprocessor with ``TypeError: string indices must be
integers, not 'str'``. The other way round (``RepeatAugDataset`` with
``pseudo_collate``, MMEngine's default) failed in the recognizer with
``AttributeError: 'dict' object has no attribute 'shape'``. Both tracebacks
came after the work dir was made.

A collate function of the user's own, or a dataset class that prepares its
samples itself, is not judged.
"""
from typing import List, Optional, Sequence

from mmengine.config import Config
from mmengine.dataset import BaseDataset, default_collate, pseudo_collate
from mmengine.registry import DATASETS, FUNCTIONS

from .config_error import ConfigError
from .config_place import mistake_place
from .dataset_check import loader_dataset_nodes
from .registry_names import registered, use_default_scope

__all__ = ['check_collate_fn']

#: MMEngine's collate functions, which batch one dict per sample.
_DICT_COLLATES = (pseudo_collate, default_collate)


def _repeat_parts():
    """mmaction2's ``RepeatAugDataset`` and ``repeat_pseudo_collate``;
    ``(None, None)`` where mmaction2 cannot be imported."""
    try:
        from mmaction.datasets import repeat_aug_dataset as repeat
    except ImportError:
        return None, None
    return repeat.RepeatAugDataset, repeat.repeat_pseudo_collate


def _collate(loader_cfg: dict):
    """What the Runner collates ``loader_cfg``'s batches with (MMEngine
    0.10's ``Runner.build_dataloader``: ``pseudo_collate`` when unset)."""
    collate_cfg = loader_cfg.get('collate_fn', dict(type='pseudo_collate'))
    if not isinstance(collate_cfg, dict):
        return collate_cfg
    kind = collate_cfg.get('type')
    # As the Runner looks it up (MMEngine's registry, not a scope's).
    return FUNCTIONS.get(kind) if isinstance(kind, str) else kind


def _leaf_types(cfg: Config, loader: str) -> List[tuple]:
    """``(key, type name, class)`` of each dataset of ``loader`` that wraps
    none (a ``BaseDataset``)."""
    leaves = []
    for key, node in loader_dataset_nodes(cfg, loader):
        cls = registered(DATASETS, node.get('type'), node.get('_scope_'))
        if isinstance(cls, type) and issubclass(cls, BaseDataset):
            leaves.append((key, getattr(cls, '__name__', str(cls)), cls))
    return leaves


def check_collate_fn(cfg: Config,
                     source: str,
                     loaders: Sequence[str],
                     options: Optional[dict] = None) -> None:
    """Refuse ``repeat_pseudo_collate`` for a dataset that gives one dict
    per sample, and ``pseudo_collate`` or ``default_collate`` (set, or
    MMEngine's default) for a ``RepeatAugDataset``, in the current default
    scope.

    Args:
        cfg (Config): The config.
        source (str): The config file, for errors.
        loaders (Sequence[str]): e.g. ``('train_dataloader',
            'val_dataloader')``; one the config leaves unset, or that is
            no config dict, is skipped.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the dataloader, its ``collate_fn``, the
            dataset's key and type, and what to write.
    """
    repeat_dataset, repeat_collate = _repeat_parts()
    if repeat_dataset is None:
        return
    use_default_scope(cfg)
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not isinstance(loader_cfg, dict):
            continue
        collate = _collate(loader_cfg)
        where = mistake_place(source, f'{loader}.collate_fn', options)
        for key, name, cls in _leaf_types(cfg, loader):
            repeats = issubclass(cls, repeat_dataset)
            # A dataset of ours that checks its samples in its own
            # prepare_data says it still gives one dict per sample.
            one_dict = getattr(cls, 'one_dict_per_sample',
                               cls.prepare_data is BaseDataset.prepare_data)
            if collate is repeat_collate and one_dict:
                raise ConfigError(
                    f'{where}: repeat_pseudo_collate takes the lists of '
                    f'clips that RepeatAugDataset gives, but {key} is a '
                    f'{name}, which gives one dict per video (the first '
                    'training step would fail in the data preprocessor). '
                    f"Write {loader}.collate_fn=dict(type='pseudo_collate')"
                    f", or keep the recipe's {key}.type='RepeatAugDataset'.")
            if repeats and collate in _DICT_COLLATES:
                given = 'collate_fn' in loader_cfg
                shown = collate.__name__ if given else \
                    "unset (MMEngine's pseudo_collate)"
                raise ConfigError(
                    f'{where}: {shown} batches one dict per sample, but '
                    f'{key} is a {name}, which gives a list of num_repeats '
                    'clips per video (the first training step would fail '
                    f'in the model). Write {loader}.collate_fn='
                    "dict(type='repeat_pseudo_collate'), or a dataset "
                    "type such as 'VideoDataset'.")
