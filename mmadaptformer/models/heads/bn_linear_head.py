# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The linear-probe head of AdaptFormer's recipes: BatchNorm + Linear.

AdaptFormer (arXiv 2205.13535) follows the MAE / MoCo v3 linear-probing
protocol: the classifier is ``BatchNorm1d(C, affine=False, eps=1e-6)``
followed by ``Linear(C, num_classes)``, the Linear initialised from a
truncated normal with std 0.01 and zero bias. The BatchNorm has no learnable
parameters; it only normalises the frozen features with running statistics.

The head exists in both toolboxes: an MMAction2 head
(``cls_head=dict(type='BNLinearHead', ...)``) and an MMPretrain head
(``head=dict(type='BNLinearClsHead', ...)``; ``'BNLinearHead'`` is an alias
there, so one config key works in both).
"""
from typing import Optional, Tuple

import torch
from mmaction.models.heads import TimeSformerHead
from mmaction.registry import MODELS as MMACTION_MODELS
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from torch import Tensor, nn

__all__ = ['BNLinearHead', 'BNLinearClsHead', 'SingleSampleBatchError']


class SingleSampleBatchError(ValueError):
    """A BatchNorm+Linear head was given a training batch of one sample.

    The message names the head and the dataloader keys that avoid it; the
    tools print it on one line (it is one of
    :data:`mmadaptformer.engine.REFUSALS`). A ``ValueError``, as it was.
    """


def _feature_bn(in_channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(in_channels, affine=False, eps=1e-6)


def _normalise(bn: nn.BatchNorm1d, x: Tensor, head: str) -> Tensor:
    """``bn(x)``, refusing a training batch of one sample with what to do:
    torch's own error (``Expected more than 1 value per channel``) names
    neither the head nor the dataloader, and comes from the last batch of
    an epoch whose size leaves a remainder of 1 (SSv2's 168,913 videos at
    16 a batch on one GPU)."""
    if bn.training and x.shape[0] == 1:
        raise SingleSampleBatchError(
            f'{head}: a training batch of 1 sample, which its BatchNorm1d '
            'cannot normalise (it needs more than 1 value per channel). '
            'Drop the last incomplete batch with '
            'train_dataloader.drop_last=True, as the recipes do, and train '
            'with train_dataloader.batch_size of at least 2.')
    return bn(x)


@MMACTION_MODELS.register_module(name='BNLinearHead')
class BNLinearHead(TimeSformerHead):
    """MMAction2 classification head: BatchNorm1d (no affine) + Linear.

    From AdaptFormer (arXiv 2205.13535), which takes it from the MAE linear
    probe. It expects pooled features ``(N, C)``, as mmaction2's VideoMAE
    ``VisionTransformer`` returns with ``use_mean_pooling=True``.

    Args:
        num_classes (int): Number of classes to be classified.
        in_channels (int): Number of channels in the input feature.
        loss_cls (dict): Config for building the loss.
            Defaults to ``dict(type='CrossEntropyLoss')``.
        init_std (float): Std of the truncated normal init of the Linear.
            Defaults to 0.01.
        dropout_ratio (float): Dropout before the Linear. Defaults to 0.
        **kwargs: Other arguments of mmaction2's ``BaseHead``, such as
            ``average_clips``.

    Examples:
        >>> import torch
        >>> import mmadaptformer  # noqa: F401
        >>> from mmaction.registry import MODELS
        >>> head = MODELS.build(dict(type='BNLinearHead', num_classes=174,
        ...                          in_channels=768))
        >>> head(torch.rand(4, 768)).shape
        torch.Size([4, 174])
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),
                 init_std: float = 0.01,
                 dropout_ratio: float = 0.0,
                 **kwargs) -> None:
        super().__init__(
            num_classes,
            in_channels,
            loss_cls=loss_cls,
            init_std=init_std,
            dropout_ratio=dropout_ratio,
            **kwargs)
        self.bn = _feature_bn(in_channels)

    def forward(self, x: Tensor, **kwargs) -> Tensor:
        """Classify pooled features.

        Args:
            x (Tensor): Features of shape ``(N, C)``.

        Returns:
            Tensor: Class scores of shape ``(N, num_classes)``.
        """
        x = _normalise(self.bn, x, type(self).__name__)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x)


# ``BNLinearHead`` stays an alias: the image recipes
# (configs/_base_/models/mae_vit-b_224.py) and user configs name it so.
@MMPRETRAIN_MODELS.register_module(name=['BNLinearClsHead', 'BNLinearHead'])
class BNLinearClsHead(LinearClsHead):
    """MMPretrain classification head: BatchNorm1d (no affine) + Linear.

    From AdaptFormer (arXiv 2205.13535), which takes it from the MAE linear
    probe. Registered in MMPretrain's registry as ``BNLinearClsHead`` and,
    for the recipes written before, as ``BNLinearHead``.

    Args:
        num_classes (int): Number of categories.
        in_channels (int): Number of channels in the input feature.
        init_cfg (dict, optional): Initialisation of the Linear. Defaults to
            a truncated normal with std 0.01 and zero bias.
        **kwargs: Other arguments of mmpretrain's ``ClsHead``, such as
            ``loss`` and ``topk``.

    Examples:
        >>> import torch
        >>> import mmadaptformer  # noqa: F401
        >>> from mmpretrain.registry import MODELS
        >>> head = MODELS.build(dict(type='BNLinearHead', num_classes=100,
        ...                          in_channels=768))
        >>> head((torch.rand(4, 768), )).shape
        torch.Size([4, 100])
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.01, bias=0.),
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, init_cfg=init_cfg, **kwargs)
        self.bn = _feature_bn(in_channels)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Normalise the last stage's feature with the BatchNorm."""
        return _normalise(self.bn, feats[-1], type(self).__name__)
