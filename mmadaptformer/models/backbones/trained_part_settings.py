# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which settings of a wrapper's trained part a state dict was saved with,
read from its tensors, where they differ from the model's.

:func:`~.trained_part_check.check_trained_part` refuses adapters (or
prompts) of other shapes or other blocks; this names the cause as the
record's settings are named (:func:`~.trained_host.check_trained_settings`):
``bottleneck (model.backbone.adapter.bottleneck): checkpoint 16, this model
8``. The tensors tell the adapters' ``layers`` (the blocks that hold them),
``bottleneck`` (the down-projection's rows), whether they have a LayerNorm
(``norm``) and whether their ``scale`` is learnable (a tensor); a
checkpoint without a record (a plain ``state_dict()``, or one saved before
the records kept the settings) tells nothing else.
"""
from typing import Any, Dict, List, Mapping, Sequence

from torch import nn

from ..adapters.block_wiring import find_blocks
from ..host_spec import qualname
from .config_keys import CONFIG_KEY

__all__ = ['trained_part_differences']

#: How many block names a ``layers`` value lists.
_LISTED = 4


def _shown(value: Any) -> str:
    """A value as a config writes it."""
    return repr(value) if isinstance(value, str) else str(value)


def _one_or_all(values: list) -> Any:
    """The value all of ``values`` have, else the list of them."""
    return values[0] if values and values.count(values[0]) == len(values) \
        else values


def _adapters(names: Sequence[str], attached: set) -> Dict[str, set]:
    """Block -> the parameter names of its adapter, from state-dict keys
    (relative to the wrapper) with an attached module's name in them."""
    blocks: Dict[str, set] = {}
    for name in names:
        parts = name.split('.')
        index = next((i for i, p in enumerate(parts) if p in attached), None)
        if index is None:
            continue
        blocks.setdefault('.'.join(parts[:index]),
                          set()).add('.'.join(parts[index + 1:]))
    return blocks


def _bottleneck(shapes: Mapping[str, tuple], block: str, attr: str) -> Any:
    """The bottleneck of a block's adapter: its down-projection's rows, or
    its up-projection's columns; None if it has neither."""
    down = shapes.get(f'{block}.{attr}.down_proj.weight')
    if down is not None and len(down) == 2:
        return down[0]
    up = shapes.get(f'{block}.{attr}.up_proj.weight')
    return up[1] if up is not None and len(up) == 2 else None


def _layers(blocks: List[str], order: List[str]) -> str:
    """``layers`` as a config writes it (indices over the model's
    adaptable blocks), with the blocks' names; names alone for blocks this
    model does not have."""
    if not all(block in order for block in blocks):
        return str(blocks)
    indices = sorted(order.index(block) for block in blocks)
    if len(indices) == len(order):
        return f'{indices} (every block)'
    names = [order[i] for i in indices]
    more = f', ... ({len(names)} in all)' if len(names) > _LISTED else ''
    return f'{indices} ({", ".join(names[:_LISTED])}{more})'


def _adapter_differences(wrapper: nn.Module, state_dict: Mapping, prefix: str,
                         keys: List[str]) -> List[str]:
    """The adapter settings that differ, see
    :func:`trained_part_differences`."""
    attached = {name for _, name in wrapper.attached_modules()}
    attr = next(iter(attached)) if len(attached) == 1 else None
    if attr is None:
        return []
    own_shapes = {
        key: tuple(value.shape)
        for key, value in wrapper.state_dict().items()
        if hasattr(value, 'shape')
    }
    ckpt_shapes = {
        key[len(prefix):]: tuple(state_dict[key].shape)
        for key in keys if hasattr(state_dict[key], 'shape')
    }
    own = _adapters(list(own_shapes), attached)
    ckpt = _adapters([key[len(prefix):] for key in keys], attached)
    if not ckpt:
        return []
    declared = {
        qualname(type(parent)): {}
        for parent, _ in wrapper.attached_modules()
    }
    order = [name for name, _, _ in find_blocks(wrapper.backbone, declared)]
    common = [block for block in own if block in ckpt]
    differ = []
    if set(own) != set(ckpt):
        differ.append(f'layers ({CONFIG_KEY}.layers): checkpoint '
                      f'{_layers(list(ckpt), order)}, this model '
                      f'{_layers(list(own), order)}')
    ckpt_sizes = {b: _bottleneck(ckpt_shapes, b, attr) for b in ckpt}
    own_sizes = {b: _bottleneck(own_shapes, b, attr) for b in own}
    if common:
        sizes_differ = any(ckpt_sizes[b] != own_sizes[b] for b in common)
    else:
        sizes_differ = set(ckpt_sizes.values()) != set(own_sizes.values())
    if sizes_differ and None not in ckpt_sizes.values():
        differ.append(
            f'bottleneck ({CONFIG_KEY}.adapter.bottleneck): checkpoint '
            f'{_one_or_all(list(ckpt_sizes.values()))}, this model '
            f'{_one_or_all(list(own_sizes.values()))}')
    settings = wrapper.trained_settings()
    blocks = common or list(ckpt)
    for name, param, has, lacks in (
        ('norm', 'norm.weight', "'in' or 'out' (its adapters have "
         'LayerNorm tensors)', 'None (its adapters have no LayerNorm '
         'tensors)'),
        ('scale', 'scale', "'learnable' (its adapters hold a scale "
         'tensor)', 'a fixed number (its adapters hold no scale tensor)')):
        # Compared on the blocks both have adapters in, if any.
        in_ckpt = _one_or_all([param in ckpt[b] for b in blocks])
        in_own = _one_or_all([param in own[b] for b in blocks] if common else
                             [param in params for params in own.values()])
        if not isinstance(in_ckpt, bool) or in_ckpt == in_own:
            continue
        key, value = settings.get(name, (f'{CONFIG_KEY}.adapter.{name}', None))
        differ.append(f'{name} ({key}): checkpoint '
                      f'{has if in_ckpt else lacks}, this model '
                      f'{_shown(value)}')
    return differ


def _prompt_differences(wrapper: nn.Module, state_dict: Mapping,
                        prefix: str) -> List[str]:
    """The prompt settings that differ, see
    :func:`trained_part_differences`."""
    key = prefix + 'prompt_embeddings'
    own = getattr(wrapper, 'prompt_embeddings', None)
    given = state_dict.get(key)
    if own is None or not hasattr(given, 'shape') or given.dim() != 3:
        return []
    differ = []
    if given.shape[1] != own.shape[1]:
        differ.append(f'num_prompts ({CONFIG_KEY}.num_prompts): checkpoint '
                      f'{given.shape[1]}, this model {own.shape[1]}')
    if (given.shape[0] == 1) != (own.shape[0] == 1):
        key, value = wrapper.trained_settings().get(
            'deep', (f'{CONFIG_KEY}.deep', own.shape[0] > 1))
        differ.append(f'deep ({key}): checkpoint {given.shape[0] > 1} '
                      f'(prompts for {given.shape[0]} '
                      f'block{"s" if given.shape[0] > 1 else ""}), this model '
                      f'{value} (for {own.shape[0]})')
    return differ


def trained_part_differences(wrapper: nn.Module, state_dict: Mapping,
                             prefix: str, keys: List[str]) -> List[str]:
    """Each setting of the wrapper's trained part that the state dict's
    tensors show to differ from the model's, as ``name (config key):
    checkpoint X, this model Y``.

    Adapters: ``layers`` (indices over the model's adaptable blocks, with
    their names), ``bottleneck``, ``norm`` (a LayerNorm or none) and
    ``scale`` (learnable or a fixed number). Prompts: ``num_prompts`` and
    ``deep``. Nothing for a wrapper of another trained part.

    Args:
        wrapper (FrozenHostWrapper): The wrapper being loaded.
        state_dict (Mapping): The state dict being loaded.
        prefix (str): The wrapper's prefix in it.
        keys (list[str]): Its keys of the trained part
            (:func:`~.trained_part_check.trained_part_keys`).

    Returns:
        list[str]: One phrase per setting that differs, in that order.
    """
    if wrapper.trained_part == 'adapter':
        return _adapter_differences(wrapper, state_dict, prefix, keys)
    if wrapper.trained_part == 'prompt':
        return _prompt_differences(wrapper, state_dict, prefix)
    return []
