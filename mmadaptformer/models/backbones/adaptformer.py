# Copyright (c) mmadaptformer contributors. All rights reserved.
import inspect
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmaction.registry import MODELS as MMACTION_MODELS
from mmengine.logging import print_log
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from torch import nn

from ...utils.config_error import ConfigError
from ..adapters import AdaptMLP, inject_adapters
from ..adapters.block_wiring import adapted_wiring
from ..adapters.router import ADAPTER_ATTR
from ..utils import checkpoint_blocks, fuse_attention, make_tokens_contiguous
from .base_wrapper import FrozenHostWrapper
from .config_keys import CONFIG_KEY
from .host_build import build_host_backbone

__all__ = ['AdaptFormer', 'build_host_backbone']

#: The keys of ``adapter``: :class:`AdaptMLP`'s arguments but its width.
ADAPTER_KEYS = tuple(
    name for name in inspect.signature(AdaptMLP.__init__).parameters
    if name not in ('self', 'embed_dims'))


@MMACTION_MODELS.register_module()
@MMPRETRAIN_MODELS.register_module()
class AdaptFormer(FrozenHostWrapper):
    """Add AdaptFormer adapters to a stock MMAction2/MMPretrain backbone.

    A PyTorch implementation of `AdaptFormer: Adapting Vision Transformers
    for Scalable Visual Recognition <https://arxiv.org/abs/2205.13535>`_.

    The stock backbone is built from ``backbone``, then every selected
    transformer block gets an ``adaptmlp``
    (:class:`~mmadaptformer.models.AdaptMLP`) through
    :func:`~mmadaptformer.models.inject_adapters`. The backbone code is not
    changed and its state-dict keys are kept: the wrapper adds no prefix, so
    stock checkpoints load unchanged and only the ``*.adaptmlp.*`` keys are
    new. Nothing is frozen here.

    The stock backbone's ``init_cfg`` (e.g. its pre-trained checkpoint) is
    applied lazily, by ``init_weights()`` or when an adapter-only checkpoint
    is loaded, never at build time, with the adapters set aside; an
    adapter-only checkpoint trained on another backbone is refused on every
    loading path (see :class:`~mmadaptformer.models.FrozenHostWrapper`,
    which also lists the public attributes ``host_keys``,
    ``host_initialized`` and ``host_source``). ``adapted_blocks`` lists the
    names of the adapted blocks, ``block_wiring`` how their adapters are
    wired, per block type (``dict(type, norm, ffn, branch)``).

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

    Supported out of the box: the hosts declared in
    :mod:`~mmadaptformer.models.hosts_mmaction` (VideoMAE's
    ``VisionTransformer``, ``SwinTransformer3D``, MViT, UniFormer,
    UniFormerV2, TimeSformer) and
    :mod:`~mmadaptformer.models.hosts_mmpretrain` (ViT of every arch, DeiT,
    DeiT3, Swin and Swin V2, BEiT, EVA, HiViT, LeViT, RevViT, TNT and more;
    the README's "Writing your own config" lists them). Other backbones
    work once their block type is declared in ``block_types``.

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

    #: A key of these given to the wrapper itself belongs in ``adapter``.
    config_sections = dict(adapter=ADAPTER_KEYS)

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
        if adapter is not None and not isinstance(adapter, dict):
            # Before the host is built: inject_adapters would iterate it.
            raise ConfigError(
                f'{CONFIG_KEY}.adapter must be a dict of AdaptMLP arguments '
                'such as dict(bottleneck=64, scale=0.1) (or None for the '
                f'defaults), but got {adapter!r}.')
        super().__init__(backbone=backbone, init_cfg=init_cfg)
        module = self.backbone
        self.adapted_blocks: List[str] = inject_adapters(
            module,
            adapter=adapter,
            layers=layers,
            placement=placement,
            block_types=block_types)
        self.placement = placement
        self.block_wiring: List[Dict[str, str]] = adapted_wiring(
            module, [block for block, _ in self.attached_modules()],
            block_types)
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

    def attached_modules(self) -> List[Tuple[nn.Module, str]]:
        """``(block, 'adaptmlp')`` for every adapted block."""
        return [(block, ADAPTER_ATTR) for block in self.backbone.modules()
                if isinstance(block._modules.get(ADAPTER_ATTR), AdaptMLP)]

    def trained_settings(self) -> Dict[str, Tuple[str, Any]]:
        """The adapters' ``placement``, ``scale`` (a fixed number, or
        ``'learnable'``), LayerNorm position (``norm``) and wiring
        (``block_types``: which norm's output each adapted block type feeds
        them and beside which feed-forward network they run, see
        :func:`~mmadaptformer.models.adapters.block_wiring.adapted_wiring`):
        each changes their output with the same tensors ('in' and 'out'
        have the same LayerNorm). ``bottleneck`` and ``layers`` change the
        tensors, which are checked; ``dropout`` is off at evaluation and may
        change when training goes on; ``init`` is overwritten by the
        trained values.

        Returns:
            dict[str, tuple[str, Any]]: Name -> (config key, value); a value
            that differs between adapters is a list of them, in module
            order.
        """
        adapters = [
            parent._modules[name] for parent, name in self.attached_modules()
        ]
        scales = [
            'learnable' if isinstance(m.scale, nn.Parameter) else m.scale
            for m in adapters
        ]
        norms = [m.norm_position for m in adapters]
        return dict(
            placement=(f'{CONFIG_KEY}.placement', self.placement),
            scale=(f'{CONFIG_KEY}.adapter.scale', _one_or_all(scales)),
            norm=(f'{CONFIG_KEY}.adapter.norm', _one_or_all(norms)),
            block_types=(f'{CONFIG_KEY}.block_types', self.block_wiring))


def _one_or_all(values: list) -> Any:
    """The value all of ``values`` have, else the list of them."""
    return values[0] if values and values.count(values[0]) == len(values) \
        else values
