# Copyright (c) mmadaptformer contributors. All rights reserved.
import copy
from typing import Any, List, Optional, Sequence

from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope
from torch import nn

from mmaction.registry import MODELS as MMACTION_MODELS
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from ...utils.state_dict_check import check_pretrained_init
from ..adapters import AdaptMLP, inject_adapters
from ..adapters.injection import ADAPTER_ATTR
from ..utils import (checkpoint_blocks, fuse_attention,
                     make_tokens_contiguous)

#: Name of the wrapped backbone; it never shows up in state-dict keys.
_INNER = 'backbone'
_TOOLBOXES = (('mmaction', MMACTION_MODELS), ('mmpretrain', MMPRETRAIN_MODELS))


def build_host_backbone(cfg: dict) -> nn.Module:
    """Build a stock backbone from the mmaction or mmpretrain registry.

    Inside a runner (or after :func:`mmengine.registry.init_default_scope`)
    the default scope decides, as for any other module. Without a default
    scope an unscoped type is looked up in both toolboxes and must be found
    in exactly one of them.

    Args:
        cfg (dict): The backbone config, e.g.
            ``dict(type='mmpretrain.VisionTransformer', arch='b')``.

    Returns:
        nn.Module: The built backbone, not initialised.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(
            'AdaptFormer backbone must be a config dict with a "type", e.g. '
            f"dict(type='VisionTransformer', arch='b'), but got {cfg!r}.")
    cfg = copy.deepcopy(cfg)
    type_name = cfg['type']
    if not isinstance(type_name, str) or '.' in type_name or \
            DefaultScope.get_current_instance() is not None:
        return MMENGINE_MODELS.build(cfg)

    found = {}
    for scope, registry in _TOOLBOXES:
        cls = registry.get(type_name)
        if cls is not None:
            found.setdefault(cls, scope)
    if not found:
        raise KeyError(
            f'AdaptFormer backbone type {type_name!r} is registered in '
            'neither mmaction nor mmpretrain MODELS. Check the spelling, or '
            'import the module that registers it (custom_imports).')
    if len(found) > 1:
        raise ValueError(
            f'AdaptFormer backbone type {type_name!r} is ambiguous: no '
            'default scope is set and both mmaction and mmpretrain register '
            f"it. Write type='mmaction.{type_name}' or "
            f"type='mmpretrain.{type_name}', or call "
            "mmengine.registry.init_default_scope('mmaction') (or "
            "'mmpretrain') first, as runners do from default_scope.")
    cfg['type'] = f'{next(iter(found.values()))}.{type_name}'
    return MMENGINE_MODELS.build(cfg)


def _to_outer(key: str, prefix: str) -> str:
    """``<prefix>backbone.<rest>`` -> ``<prefix><rest>``."""
    inner = prefix + _INNER
    if key == inner:
        return prefix[:-1]
    if key.startswith(inner + '.'):
        return prefix + key[len(inner) + 1:]
    return key


def _to_inner(key: str, prefix: str) -> str:
    """``<prefix><rest>`` -> ``<prefix>backbone.<rest>``."""
    if key == prefix[:-1]:
        return prefix + _INNER
    if key.startswith(prefix):
        return prefix + _INNER + '.' + key[len(prefix):]
    return key


def _strip_inner_prefix(module: nn.Module, state_dict: dict, prefix: str,
                        local_metadata: dict) -> None:
    """State-dict post-hook: save the stock backbone's keys unchanged."""
    for key in [k for k in state_dict if _to_outer(k, prefix) != k]:
        state_dict[_to_outer(key, prefix)] = state_dict.pop(key)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        for key in [k for k in metadata if _to_outer(k, prefix) != k]:
            metadata[_to_outer(key, prefix)] = metadata.pop(key)


def _add_inner_prefix(module: nn.Module, state_dict: dict, prefix: str,
                      local_metadata: dict, strict: bool, missing_keys: list,
                      unexpected_keys: list, error_msgs: list) -> None:
    """Load pre-hook: route the stock keys to the wrapped backbone."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        state_dict[_to_inner(key, prefix)] = state_dict.pop(key)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        for key in [
                k for k in metadata if k == prefix[:-1] or k.startswith(prefix)
        ]:
            metadata[_to_inner(key, prefix)] = metadata[key]
    # The post-hook is not told the prefix.
    module._load_prefix = prefix


def _report_outer_keys(module: nn.Module, incompatible_keys) -> None:
    """Load post-hook: report missing/unexpected keys as saved."""
    prefix = module.__dict__.pop('_load_prefix', None)
    if prefix is None:
        return
    for keys in incompatible_keys:
        keys[:] = [_to_outer(key, prefix) for key in keys]


@MMACTION_MODELS.register_module()
@MMPRETRAIN_MODELS.register_module()
class AdaptFormer(BaseModule):
    """Add AdaptFormer adapters to a stock MMAction2/MMPretrain backbone.

    A PyTorch implementation of `AdaptFormer: Adapting Vision Transformers
    for Scalable Visual Recognition <https://arxiv.org/abs/2205.13535>`_.

    The stock backbone is built from ``backbone`` and initialised first (so
    its ``init_cfg``, e.g. a pre-trained checkpoint, is applied), then every
    selected transformer block gets an ``adaptmlp``
    (:class:`~mmadaptformer.models.AdaptMLP`) through
    :func:`~mmadaptformer.models.inject_adapters`. The backbone code is not
    changed and its state-dict keys are kept: the wrapper adds no prefix, so
    stock checkpoints load unchanged and only the ``*.adaptmlp.*`` keys are
    new. Nothing is frozen here.

    A fast path, exact up to floating-point rounding, is on by default for
    mmaction2's VideoMAE ViT: its hand-written attention runs through
    ``scaled_dot_product_attention`` (see
    :func:`~mmadaptformer.models.fuse_attention`; with attention dropout the
    masks are drawn differently, from the same distribution), and its tokens
    are made contiguous once after the patch embedding instead of being
    copied by every LayerNorm (see
    :func:`~mmadaptformer.models.make_tokens_contiguous`). Activation
    checkpointing of the blocks (``with_cp``) is optional. Frozen blocks in
    front of the first adapter record no autograd graph in either case.

    Supported out of the box: mmaction2 ``VisionTransformer`` (VideoMAE) and
    ``SwinTransformer3D``; mmpretrain ``VisionTransformer`` (every arch,
    DeiT included), ``DistilledVisionTransformer``, ``DeiT3`` and
    ``SwinTransformer``. Other backbones work once their block type is
    declared in ``block_types``.

    Args:
        backbone (dict): Config of the stock backbone. Inside a runner the
            default scope picks the toolbox; a scoped type such as
            ``'mmpretrain.SwinTransformer'`` picks it explicitly.
        adapter (dict, optional): :class:`AdaptMLP` arguments:
            ``bottleneck`` (int, or one int per adapted block), ``scale``
            (float or ``'learnable'``), ``dropout`` and ``norm`` (None,
            ``'in'`` or ``'out'``). Defaults to None, i.e. bottleneck 64,
            scale 0.1, no dropout and no norm.
        layers (Sequence[int], optional): Indices of the blocks to adapt,
            in the backbone's block order; negative indices count from the
            end. Defaults to None, i.e. every block.
        placement (str): ``'parallel'`` (the paper's default) or
            ``'sequential'``. Defaults to ``'parallel'``.
        block_types (Sequence[dict], optional): Declarations of further
            block types, e.g. ``[dict(type='MyBlock', norm='norm2',
            ffn='mlp')]``. Defaults to None.
        fused_attention (bool): Run known hand-written attention modules
            through ``torch.nn.functional.scaled_dot_product_attention``.
            Defaults to True.
        contiguous_tokens (bool): Make the token sequence of known hosts
            contiguous after the patch embedding. Defaults to True.
        with_cp (bool): Checkpoint the activations of every block of the
            adapted blocks' types: less memory, one more forward of each
            block in the backward pass. Blocks that need no gradient are not
            checkpointed. Defaults to False.
        init_cfg (dict, optional): Initialization config of the wrapper,
            applied by ``init_weights()``. A ``Pretrained`` checkpoint with
            the stock keys can be given here as well. Defaults to None.

    Examples:
        >>> from mmengine.registry import init_default_scope
        >>> from mmaction.registry import MODELS
        >>> init_default_scope('mmaction')
        >>> model = MODELS.build(dict(
        ...     type='AdaptFormer',
        ...     backbone=dict(type='VisionTransformer', img_size=32,
        ...                   patch_size=16, embed_dims=64, depth=2,
        ...                   num_heads=2, num_frames=4),
        ...     adapter=dict(bottleneck=8, scale=0.1)))
        >>> 'blocks.0.adaptmlp.down_proj.weight' in model.state_dict()
        True
    """

    def __init__(self,
                 backbone: dict,
                 adapter: Optional[dict] = None,
                 layers: Optional[Sequence[int]] = None,
                 placement: str = 'parallel',
                 block_types: Optional[Sequence[dict]] = None,
                 fused_attention: bool = True,
                 contiguous_tokens: bool = True,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        module = build_host_backbone(backbone)
        # Load the stock weights before the adapters exist, so an init_cfg
        # that re-initialises every Linear leaves the adapters alone; refuse
        # a checkpoint of another architecture instead of part-loading it.
        check_pretrained_init(module, owner='model.backbone.backbone')
        if hasattr(module, 'init_weights'):
            module.init_weights()
        self.backbone = module
        self.adapted_blocks: List[str] = inject_adapters(
            module,
            adapter=adapter,
            layers=layers,
            placement=placement,
            block_types=block_types)
        self.fused_attention = fused_attention
        self.contiguous_tokens = contiguous_tokens
        self.with_cp = with_cp
        if fused_attention:
            fused = fuse_attention(module)
            if fused:
                print_log(
                    f'AdaptFormer: {len(fused)} attention modules use '
                    'scaled_dot_product_attention.',
                    logger='current')
        if contiguous_tokens:
            make_tokens_contiguous(module)
        if with_cp:
            block_cls = {
                type(m)
                for m in module.modules()
                if isinstance(getattr(m, ADAPTER_ATTR, None), AdaptMLP)
            }
            count = checkpoint_blocks(m for m in module.modules()
                                      if type(m) in block_cls)
            print_log(
                f'AdaptFormer: activation checkpointing of {count} blocks.',
                logger='current')

        self.register_state_dict_post_hook(_strip_inner_prefix)
        self.register_load_state_dict_pre_hook(_add_inner_prefix)
        self.register_load_state_dict_post_hook(_report_outer_keys)

    def forward(self, *args, **kwargs) -> Any:
        """Run the adapted stock backbone."""
        return self.backbone(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get('_modules', {})
            if name == _INNER or _INNER not in modules:
                raise
            # Host code reads backbone attributes, e.g. ``num_extra_tokens``.
            return getattr(modules[_INNER], name)
