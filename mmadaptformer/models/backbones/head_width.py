# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a head whose ``in_channels`` is not the width of the features the
backbone gives it, before the Runner makes its work dir.

The head's first matrix product failed at the first training step
(``mat1 and mat2 shapes cannot be multiplied (4x192 and 768x2)``), after
the work dir, the model, the pretrained weights and the data loading.

The width is read from the built host (the stock backbone, or the one
inside an AdaptFormer or VPT wrapper) by the function its
:class:`~mmadaptformer.models.HostSpec` names in ``feature_width``; a
host that declares none is not checked. Only a head of
:data:`WIDTH_HEADS` is compared, behind no neck or a neck of
:data:`WIDTH_KEEPING_NECKS`.
"""
from typing import Optional

from mmengine.config import Config
from mmengine.registry import MODELS
from torch import nn

from ...utils.config_error import ConfigError
from ...utils.config_place import mistake_place
from ...utils.registry_names import registered
from ..hosts import host_spec, qualname, resolve
from .config_host import build_without_weights, config_host

__all__ = [
    'check_head_width', 'compared_head', 'host_feature_width', 'WIDTH_HEADS',
    'WIDTH_KEEPING_NECKS'
]

#: The heads whose ``in_channels`` is the width of the last feature the
#: backbone (or the neck) gives them, by ``module.qualname``. Left out:
#: heads whose ``in_channels`` means something else (mmpretrain's
#: ``ConformerHead`` takes a pair, mmaction2's ``SlowFastHead`` the sum of
#: two pathways) and the others, which are not read.
WIDTH_HEADS = (
    'mmaction.models.heads.i3d_head.I3DHead',
    'mmaction.models.heads.mvit_head.MViTHead',
    'mmaction.models.heads.timesformer_head.TimeSformerHead',
    'mmaction.models.heads.tsn_head.TSNHead',
    'mmaction.models.heads.uniformer_head.UniFormerHead',
    'mmadaptformer.models.heads.bn_linear_head.BNLinearClsHead',
    'mmadaptformer.models.heads.bn_linear_head.BNLinearHead',
    'mmpretrain.models.heads.deit_head.DeiTClsHead',
    'mmpretrain.models.heads.linear_head.LinearClsHead',
    'mmpretrain.models.heads.multi_label_linear_head.'
    'MultiLabelLinearClsHead',
    'mmpretrain.models.heads.stacked_head.StackedLinearClsHead',
    'mmpretrain.models.heads.vision_transformer_head.'
    'VisionTransformerClsHead',
)

#: The necks that keep the channel width of each feature (pooling it, or
#: normalising it: the MAE linear probe's BatchNorm), by
#: ``module.qualname``; behind any other neck the head is not compared.
WIDTH_KEEPING_NECKS = (
    'mmpretrain.models.necks.gap.GlobalAveragePooling',
    'mmpretrain.models.necks.gem.GeneralizedMeanPooling',
    'mmpretrain.models.necks.mae_neck.ClsBatchNormNeck',
)


def host_feature_width(host: nn.Module) -> Optional[int]:
    """The width of the features the built ``host`` hands on, read by the
    function its :attr:`~mmadaptformer.models.HostSpec.feature_width`
    names; None for a host that declares none (or a width it cannot
    read)."""
    spec = host_spec(type(host))
    if spec is None or spec.feature_width is None:
        return None
    return resolve(spec.feature_width)(host)


def compared_head(model: dict, host_cls: type) -> Optional[str]:
    """The key (``head`` or ``cls_head``) of a head of :data:`WIDTH_HEADS`
    given ``in_channels``, behind no neck or a width-keeping one, in front
    of a host of class ``host_cls`` that declares its feature width; None
    if the model's head is not compared (and no host need be built for
    it)."""
    spec = host_spec(host_cls)
    if spec is None or spec.feature_width is None:
        return None
    neck = model.get('neck')
    if neck is not None:
        cls = registered(MODELS, neck.get('type')) if isinstance(
            neck, dict) else None
        if not isinstance(cls, type) or qualname(cls) not in \
                WIDTH_KEEPING_NECKS:
            return None
    for key in ('head', 'cls_head'):
        head = model.get(key)
        if isinstance(head, dict) and 'in_channels' in head:
            cls = registered(MODELS, head.get('type'))
            if isinstance(cls, type) and qualname(cls) in WIDTH_HEADS:
                return key
    return None


def check_head_width(cfg: Config,
                     source: str,
                     options: Optional[dict] = None,
                     host: Optional[nn.Module] = None) -> None:
    """Refuse a head whose ``in_channels`` is not the width of the
    features that the backbone (or the host inside a wrapper) gives it.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        host (nn.Module, optional): The host already built (the wrapper's,
            or the plain one :func:`~.config_check.check_model_config`
            builds), which is read instead of building it again; None: it
            is built here, and only if the head is compared. Defaults to
            None.

    Raises:
        ConfigError: Naming the head's key (or the option that set it),
            its value, the backbone's key and the width it gives.
    """
    entry = config_host(cfg)
    if entry is None:
        return
    key, host_cfg, cls = entry
    head_key = compared_head(cfg.model, cls)
    if head_key is None:
        return
    if host is None:
        host = build_without_weights(host_cfg)
    if host is None:
        return
    width = host_feature_width(host)
    in_channels = cfg.model[head_key]['in_channels']
    if width is None or width == in_channels:
        return
    where = mistake_place(source, f'model.{head_key}.in_channels', options)
    raise ConfigError(
        f'{where}: the head takes in_channels={in_channels!r}, but the '
        f'backbone ({key}, {cls.__name__}) gives it {width}-wide '
        f'features; set model.{head_key}.in_channels={width}, or '
        'change the backbone.')
