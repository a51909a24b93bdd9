# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check that a config's parts agree before they run."""
from typing import List, Optional, Sequence, Tuple

from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from mmadaptformer.utils import HEAD_NAMES, ConfigError
from mmadaptformer.utils.model_unwrap import unwrapped_model

__all__ = ['ConfigCheckHook', 'dataset_num_classes']


def _unwrap(dataset):
    """The first dataset inside MMEngine's dataset wrappers."""
    from mmengine.dataset import (ClassBalancedDataset, ConcatDataset,
                                  RepeatDataset)
    while True:
        if isinstance(dataset, ConcatDataset) and dataset.datasets:
            dataset = dataset.datasets[0]
        elif isinstance(dataset, (RepeatDataset, ClassBalancedDataset)):
            dataset = dataset.dataset
        else:
            return dataset


def dataset_num_classes(dataset) -> Optional[Tuple[int, str]]:
    """The number of classes a dataset declares, and where it says so.

    Args:
        dataset: A built dataset (wrappers are looked through).

    Returns:
        tuple[int, str] | None: The number and the attribute it comes from
        (``'num_classes'`` for MMAction2 datasets,
        ``"len(metainfo['classes'])"`` for MMPretrain ones), or None if the
        dataset declares none.
    """
    dataset = _unwrap(dataset)
    num_classes = getattr(dataset, 'num_classes', None)
    if isinstance(num_classes, int) and not isinstance(num_classes, bool):
        return num_classes, 'num_classes'
    metainfo = getattr(dataset, 'metainfo', None)
    classes = metainfo.get('classes') if isinstance(metainfo, dict) else None
    if classes:
        return len(classes), "len(metainfo['classes'])"
    return None


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class ConfigCheckHook(Hook):
    """Stop before training or testing when the config disagrees with
    itself.

    It checks that the head's ``num_classes`` equals the number of classes
    each dataset of the run declares (the ``num_classes`` of MMAction2
    datasets, ``len(metainfo['classes'])`` of MMPretrain ones), and the
    ``num_classes`` of an MMPretrain data preprocessor (used by batch
    augmentations). The error names both config keys and values, e.g.
    ``model.cls_head.num_classes=174 but
    train_dataloader.dataset.num_classes=51``. Datasets that declare no
    number of classes are not checked. Used in the
    `AdaptFormer <https://arxiv.org/abs/2205.13535>`_ recipes.

    Args:
        head (Sequence[str]): Attribute names of the model's head, tried in
            order. Defaults to :data:`~mmadaptformer.utils.HEAD_NAMES`.

    Examples:
        >>> default_hooks = dict(config_check=dict(type='ConfigCheckHook'))
    """

    priority = 'VERY_HIGH'

    def __init__(self, head: Sequence[str] = HEAD_NAMES) -> None:
        self.head = [head] if isinstance(head, str) else list(head)

    def _head(self, runner) -> Optional[Tuple[str, int]]:
        model = unwrapped_model(runner.model)
        for name in self.head:
            num_classes = getattr(
                getattr(model, name, None), 'num_classes', None)
            if isinstance(num_classes, int):
                return f'model.{name}.num_classes', num_classes
        return None

    def _check(self, runner, loaders: List[Tuple[str, object]]) -> None:
        head = self._head(runner)
        if head is None:
            return
        head_key, head_classes = head
        problems = []
        model = unwrapped_model(runner.model)
        pre = getattr(
            getattr(model, 'data_preprocessor', None), 'num_classes', None)
        if isinstance(pre, int) and pre != head_classes:
            problems.append(f'model.data_preprocessor.num_classes={pre}')
        for key, loader in loaders:
            dataset = getattr(loader, 'dataset', None)
            declared = dataset_num_classes(dataset) if dataset else None
            if declared is not None and declared[0] != head_classes:
                number, attribute = declared
                if attribute == 'num_classes':
                    problems.append(f'{key}.dataset.num_classes={number}')
                else:
                    problems.append(
                        f'{key}.dataset has {number} classes '
                        f'({attribute} of {type(_unwrap(dataset)).__name__})')
        if problems:
            raise ConfigError(
                f'{head_key}={head_classes} but ' + ' and '.join(problems) +
                f'. Set {head_key} to the number of classes of the data '
                f'(and every other num_classes of the config with it).')

    def before_train(self, runner) -> None:
        """Check the training and validation data against the head."""
        loaders = [('train_dataloader', runner.train_dataloader)]
        val_loop = runner.val_loop
        if val_loop is not None and hasattr(val_loop, 'dataloader'):
            loaders.append(('val_dataloader', val_loop.dataloader))
        self._check(runner, loaders)

    def before_test(self, runner) -> None:
        """Check the test data against the head."""
        self._check(runner, [('test_dataloader', runner.test_dataloader)])
