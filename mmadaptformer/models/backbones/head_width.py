# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a head whose ``in_channels`` is not the width of the features the
backbone gives it, before the Runner makes its work dir. A plain host (no
wrapper) is checked here too, as the wrappers check theirs when they are
built: its ``init_cfg`` (:func:`~.host_init.plain_host_init_cfg_problem`)
and its output check (:func:`~.host_outputs.check_host_outputs`).

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

import torch
from mmengine.config import Config
from mmengine.registry import MODELS
from torch import nn

from ...utils.config_error import ConfigError
from ...utils.config_place import mistake_place
from ...utils.registry_names import registered, use_default_scope
from ..hosts import feature_width_readers, output_checks, qualname, resolve
from .base_wrapper import FrozenHostWrapper
from .host_init import plain_host_init_cfg_problem
from .host_outputs import check_host_outputs

__all__ = [
    'check_head_width', 'host_feature_width', 'WIDTH_HEADS',
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
    reader = feature_width_readers().get(qualname(type(host)))
    if reader is None:
        return None
    return resolve(reader)(host)


def _built(backbone: dict) -> Optional[nn.Module]:
    """``backbone`` built without weights on the meta device where its
    constructor allows (mmpretrain's ViT-B: 0.01 s), else on the CPU (a
    constructor that reads its drop-path rates with ``.item()``: Swin-B
    0.3 s); None if it cannot be built, which the Runner reports when it
    builds it."""
    for device in ('meta', 'cpu'):
        try:
            with torch.device(device):
                return MODELS.build(backbone)
        except Exception:  # the Runner's build names a real mistake
            continue
    return None


def _compared_head(model: dict) -> Optional[str]:
    """The key (``head`` or ``cls_head``) of a head of :data:`WIDTH_HEADS`
    given ``in_channels``, behind no neck or a width-keeping one; None if
    the model's head is not compared."""
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
                     wrapper: Optional[nn.Module] = None) -> None:
    """Refuse a head whose ``in_channels`` is not the width of the
    features that the backbone (or the host inside a wrapper) gives it,
    and a plain host (``wrapper`` None) that its constructor or its
    output check refuses.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        wrapper (nn.Module, optional): ``model.backbone`` already built,
            if it is a wrapper (:func:`.check_wrapper_config` builds it),
            whose host is read instead of building it again; its caller
            runs the host's output check. Defaults to None.

    Raises:
        ConfigError: Naming the head's key (or the option that set it),
            its value, the backbone's key and the width it gives; or a
            plain host's ``init_cfg`` it cannot take, or its output check's
            refusal.
    """
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(backbone, dict) or 'type' not in backbone:
        return
    use_default_scope(cfg)
    key, host_cfg = 'model.backbone', backbone
    cls = registered(MODELS, backbone['type'])
    if isinstance(cls, type) and issubclass(cls, FrozenHostWrapper):
        key, host_cfg = 'model.backbone.backbone', backbone.get('backbone')
        if not isinstance(host_cfg, dict) or 'type' not in host_cfg:
            return
        cls = registered(MODELS, host_cfg['type'])
    if not isinstance(cls, type):
        return
    problem = None if key != 'model.backbone' else \
        plain_host_init_cfg_problem(cls, host_cfg, key)
    if problem is not None:
        where = mistake_place(source, f'{key}.init_cfg', options,
                              host_cfg['init_cfg'])
        raise ConfigError(f'{where}: {problem}')
    head_key = _compared_head(model)
    compared = head_key is not None and \
        qualname(cls) in feature_width_readers()
    checked = wrapper is None and qualname(cls) in output_checks()
    if not compared and not checked:
        return
    if wrapper is not None:
        host = wrapper.backbone
    else:
        host = _built(host_cfg.to_dict() if hasattr(host_cfg, 'to_dict'
                                                    ) else dict(host_cfg))
    if host is None:
        return
    if checked:
        check_host_outputs(host, source, options, key)
    if not compared:
        return
    width = host_feature_width(host)
    in_channels = model[head_key]['in_channels']
    if width is None or width == in_channels:
        return
    where = mistake_place(source, f'model.{head_key}.in_channels', options)
    raise ConfigError(
        f'{where}: the head takes in_channels={in_channels!r}, but the '
        f'backbone ({key}, {cls.__name__}) gives it {width}-wide '
        f'features; set model.{head_key}.in_channels={width}, or '
        'change the backbone.')
