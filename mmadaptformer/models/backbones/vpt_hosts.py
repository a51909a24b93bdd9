# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which hosts :class:`~mmadaptformer.models.backbones.vpt.VPT` can prompt,
and where: the host check, the promptable blocks, and what the prompts'
shape and initialisation are read from (the token width and the patch
embedding's fan-in)."""
from typing import List, Tuple

from torch import nn

from ...utils.config_error import ConfigError
from ..hosts import HOSTS, block_like_types, host_spec, qualname
from .config_keys import CONFIG_KEY

__all__ = [
    'PROMPTABLE_BLOCK_TYPES', 'check_promptable_host',
    'find_promptable_blocks', 'prompt_fan_in', 'token_width'
]

#: Blocks that can take prompt tokens: global self-attention over a
#: ``(B, N, C)`` sequence with nothing tied to the sequence length (such as
#: a relative position bias). Exact types only: subclasses, e.g. BEiT's
#: layer, may add such parts. Derived from
#: :data:`mmadaptformer.models.hosts.HOSTS`.
PROMPTABLE_BLOCK_TYPES = tuple(
    dict.fromkeys(spec.block for spec in HOSTS if spec.promptable))


def check_promptable_host(model: nn.Module) -> None:
    """Refuse a declared host that is not ``promptable``: an AdaptFormer
    host, named as one, whether its blocks are of no promptable type (Swin,
    BEiT's with their relative position bias, EVA-02's rotary ones) or of
    one (Conformer's and MobileViT's are ViT layers, but the host around
    them has no token sequence of its own for the prompts).

    Args:
        model (nn.Module): The stock host backbone.

    Raises:
        ConfigError: Naming ``model.backbone.backbone.type``, the hosts VPT
            prompts, and ``type='AdaptFormer'`` for this one.
    """
    spec = host_spec(type(model))
    if spec is None or spec.promptable:
        return
    name = type(model).__name__
    if spec.block in PROMPTABLE_BLOCK_TYPES:
        why = ('its blocks are ViT layers, but '
               f'{name} has no token sequence of its own around them for '
               'the prompts')
    else:
        why = (f'its {spec.block.rsplit(".", 1)[-1]} blocks are not the ViT '
               'token sequence VPT inserts prompts into')
    raise ConfigError(
        f'{CONFIG_KEY}.backbone.type: VPT cannot prompt {name}: it is an '
        f'AdaptFormer host, not a VPT one ({why}). VPT prompts: '
        f'{_promptable_hosts()}. Use type=\'AdaptFormer\' for it.')


def _promptable_hosts() -> str:
    """The promptable hosts as configs write them:
    ``'mmaction.VisionTransformer, mmpretrain.VisionTransformer, ...'``."""
    names = [s.backbone.split('.') for s in HOSTS if s.promptable]
    return ', '.join(dict.fromkeys(f'{n[0]}.{n[-1]}' for n in names))


def find_promptable_blocks(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """The promptable blocks of ``model`` in module order, without looking
    inside them.

    Args:
        model (nn.Module): The stock host backbone.

    Returns:
        list[tuple[str, nn.Module]]: ``(name, block)`` pairs.

    Raises:
        ConfigError: If ``model`` has none, naming the block types it has.
    """
    found = []

    def visit(name: str, module: nn.Module) -> None:
        if qualname(type(module)) in PROMPTABLE_BLOCK_TYPES:
            found.append((name, module))
            return
        for child_name, child in module.named_children():
            visit(f'{name}.{child_name}' if name else child_name, child)

    visit('', model)
    if not found:
        supported = ', '.join(
            name.rsplit('.', 1)[-1] for name in PROMPTABLE_BLOCK_TYPES)
        types = ', '.join(block_like_types(model)) or 'none'
        raise ConfigError(
            f'{CONFIG_KEY}.backbone.type: VPT cannot prompt '
            f'{type(model).__name__}: it has no block of a '
            f'supported type ({supported}), i.e. global self-attention over '
            f'a token sequence. Block types found: {types}. VPT prompts: '
            f'{_promptable_hosts()}.')
    return found


def prompt_fan_in(model: nn.Module) -> int:
    """``fan_in`` of the patch-embedding convolution (in_channels x
    kernel), from which the prompts' uniform initialisation is bounded.

    Args:
        model (nn.Module): The stock host backbone.

    Returns:
        int: The fan-in.
    """
    patch_embed = getattr(model, 'patch_embed', None)
    convs = [
        m for m in patch_embed.modules()
        if isinstance(m, nn.modules.conv._ConvNd)
    ] if isinstance(patch_embed, nn.Module) else []
    if not convs:
        raise ValueError(
            f'VPT initialises the prompts from the fan-in of the patch '
            f'embedding, but {type(model).__name__} has no convolution in '
            f'a `patch_embed` module (found {patch_embed!r}).')
    return convs[0].weight[0].numel()


def token_width(model: nn.Module) -> int:
    """The token width of ``model``, its ``embed_dims``, which the prompts
    take.

    Args:
        model (nn.Module): The stock host backbone.

    Returns:
        int: The width.
    """
    dims = getattr(model, 'embed_dims', None)
    if isinstance(dims, bool) or not isinstance(dims, int) or dims <= 0:
        raise ValueError(
            f'VPT needs the token width of {type(model).__name__} as a '
            f'positive int attribute `embed_dims`, but got {dims!r}.')
    return dims
