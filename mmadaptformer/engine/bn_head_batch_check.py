# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse ``train_dataloader.batch_size=1`` with a BatchNorm+Linear head
before the Runner.

The head (:class:`~mmadaptformer.models.BNLinearHead`,
:class:`~mmadaptformer.models.BNLinearClsHead`) normalises the frozen
features with a ``BatchNorm1d``, which cannot train on one sample: every
batch of such a run failed at the first iteration, after the work dir,
its log and the model were made, as a traceback through the Runner's loop
ending in the head's refusal. :func:`check_bn_head_batch` names the key
and the head first. A last batch of one sample (an epoch's remainder with
``drop_last=False``) is left to the head, whose
:class:`~mmadaptformer.models.SingleSampleBatchError` the tools print on
one line.
"""
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.registry import MODELS

from mmadaptformer.models import BNLinearClsHead, BNLinearHead
from mmadaptformer.utils import HEAD_NAMES, ConfigError
from mmadaptformer.utils.config_place import mistake_place
from mmadaptformer.utils.registry_names import registered, use_default_scope
from mmadaptformer.utils.runner_type import mmengine_runner

__all__ = ['check_bn_head_batch']

#: The heads whose BatchNorm1d cannot train on a batch of one sample.
BN_HEADS = (BNLinearHead, BNLinearClsHead)


def _bn_head(model: dict) -> Optional[Tuple[str, str]]:
    """``(key, type name)`` of the model's BatchNorm+Linear head, such as
    ``('model.head', 'BNLinearHead')``; None if it has none."""
    for name in HEAD_NAMES:
        head = model.get(name)
        if not isinstance(head, dict) or 'type' not in head:
            continue
        cls = registered(MODELS, head['type'], head.get('_scope_'))
        if isinstance(cls, type) and issubclass(cls, BN_HEADS):
            return f'model.{name}', getattr(head['type'], '__name__',
                                            head['type'])
    return None


def check_bn_head_batch(cfg: Config,
                        source: str,
                        options: Optional[dict] = None) -> None:
    """Refuse a training batch size of 1 with a BatchNorm+Linear head.

    Args:
        cfg (Config): The config, ``--cfg-options`` applied.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming ``train_dataloader.batch_size`` (set to 1, or
            not set, which PyTorch's ``DataLoader`` takes for 1) and the
            head's key and type.
    """
    loader = cfg.get('train_dataloader')
    model = cfg.get('model')
    if not mmengine_runner(cfg) or not isinstance(loader, dict) or \
            not isinstance(model, dict):
        return
    size = loader.get('batch_size')
    if size == 1 and not isinstance(size, bool):
        where = mistake_place(source, 'train_dataloader.batch_size', options,
                              1)
    elif 'batch_size' not in loader and 'batch_sampler' not in loader:
        where = (f"{source}: train_dataloader sets no batch_size (PyTorch's "
                 'DataLoader takes 1)')
    else:
        return
    use_default_scope(cfg)
    head = _bn_head(model)
    if head is None:
        return
    key, kind = head
    raise ConfigError(
        f'{where}: {key} ({kind}, BatchNorm+Linear) cannot train on a batch '
        'of 1 sample, which its BatchNorm1d cannot normalise; give '
        'train_dataloader.batch_size of at least 2 (per process).')
