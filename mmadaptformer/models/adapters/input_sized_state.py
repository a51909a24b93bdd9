# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep a frozen host's state as loaded when its forward resizes it.

Some hosts recompute state for the size of each input and keep the result:
EVA-02's rotary position embedding (mmpretrain's ``RotaryEmbeddingFast``)
re-registers its ``freqs_cos`` and ``freqs_sin`` buffers, and sets its
``patch_resolution``, whenever an input's patch grid differs from the one it
was built for (``img_size``), which mmpretrain allows: the position
embedding is resized on the fly. In a frozen host that made the state dict
follow the last input. AdapterHook's check that frozen tensors stay as
loaded stopped training after the first epoch, naming those buffers, and a
full checkpoint saved after such a forward no longer fitted a model built
from its own config (``extract_adapters.py`` refused it for their shapes).

The forward still computes with the values for its input; a forward hook
(:attr:`~mmadaptformer.models.HostSpec.input_sized_state`) puts the values
the module had before the call back after it, so the state dict stays the
one loaded. An input of another size recomputes them on every call, which
costs a few small tensor operations per call.

The same state is computed from the input size the module is built for, so a
checkpoint of another input size holds it in other shapes (EVA-02 fine-tuned
at 448 px from its 224 px pre-training). The stock host loads such a file:
MMEngine's non-strict load skips the mismatched buffers and keeps the
model's own, and mmpretrain resizes the position embedding. Under
AdaptFormer the dry run that checks a checkpoint named those buffers as
shape mismatches and refused the file as "saved from another architecture".
A load pre-hook (:meth:`InputSizedStateHook.keep_own_size`) gives every
loading path (the check's dry run included) the module's own values for a
buffer of another shape, which is what the stock host ends with.
"""
import logging
from typing import List, Tuple

import torch
from mmengine.logging import print_log
from torch import nn

from ...utils.dry_run import in_dry_run
from ..hosts import HOSTS, qualname
from .module_hooks import remove_module_hooks

__all__ = [
    'INPUT_SIZED_STATE', 'InputSizedStateHook', 'hook_input_sized_state',
    'unhook_input_sized_state'
]

#: Module qualname -> the attributes its forward replaces for the input's
#: size. Derived from :data:`mmadaptformer.models.hosts.HOSTS`.
INPUT_SIZED_STATE = {
    module: tuple(attrs)
    for spec in HOSTS for module, attrs in spec.input_sized_state
}

#: The attribute of the module that holds its hook.
HOOK_ATTR = '_adapter_input_sized_state'


class InputSizedStateHook:
    """The forward hooks that give one module its state back after a call,
    and the load pre-hook that keeps its own state for its size.

    A plain object with bound-method hooks, as
    :class:`~mmadaptformer.models.adapters.router.AdapterRouter`, so that
    ``copy.deepcopy`` of the model hooks the copy to the copied module.

    Args:
        module (nn.Module): The module whose forward replaces ``attrs``.
        attrs (tuple[str]): Its attributes (buffers included) to restore.
    """

    def __init__(self, module: nn.Module, attrs: Tuple[str, ...]) -> None:
        self.attrs = tuple(attrs)
        self.saved: List[tuple] = []
        self.handles = [
            module.register_forward_pre_hook(self.save),
            # Also after a forward that raised: its state is given back,
            # and no saved entry is left behind.
            module.register_forward_hook(self.restore, always_call=True),
            module.register_load_state_dict_pre_hook(self.keep_own_size)
        ]

    def save(self, module: nn.Module, args: tuple) -> None:
        self.saved.append(tuple(getattr(module, a) for a in self.attrs))

    def restore(self, module: nn.Module, args: tuple, output) -> None:
        if not self.saved:  # a pre-hook before save() raised
            return
        for attr, value in zip(self.attrs, self.saved.pop()):
            if getattr(module, attr) is not value:
                setattr(module, attr, value)

    def keep_own_size(self, module: nn.Module, state_dict: dict, prefix: str,
                      *args) -> None:
        """Load pre-hook: replace a checkpoint's value of a declared buffer
        whose shape differs from the module's (saved for another input
        size) by the module's own, as MMEngine's non-strict load of the
        stock host keeps it; a value of the same shape loads as it is.

        Args:
            module (nn.Module): The module being loaded.
            state_dict (dict): The state dict being loaded; changed in
                place.
            prefix (str): The module's prefix in it.
        """
        kept = []
        for attr in self.attrs:
            own = module._buffers.get(attr)
            value = state_dict.get(prefix + attr)
            if own is None or not torch.is_tensor(value) or \
                    value.shape == own.shape:
                continue
            # A dry run's meta value stays meta: nothing is copied there.
            state_dict[prefix + attr] = torch.empty_like(
                own, device='meta') if value.is_meta else own.detach().clone()
            kept.append(f'{prefix}{attr} {tuple(value.shape)} -> '
                        f'{tuple(own.shape)}')
        # Said once, by the load itself, not by a check's dry run.
        if kept and not in_dry_run():
            print_log(
                f'{type(module).__name__}: the checkpoint was saved for '
                f'another input size ({", ".join(kept)}): keeping the '
                'values computed for the input size this model is built '
                'for, as the stock backbone keeps them.',
                logger='current',
                level=logging.INFO)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def hook_input_sized_state(model: nn.Module) -> List[str]:
    """Hook every module of ``model`` whose type a host declares in
    :attr:`~mmadaptformer.models.HostSpec.input_sized_state` and that has
    no hook yet (a module shared by several blocks is hooked once).

    Args:
        model (nn.Module): Any module.

    Returns:
        list[str]: Names of the newly hooked modules.

    Raises:
        AttributeError: A declared attribute is missing from the module.
    """
    hooked = []
    for name, module in model.named_modules():
        attrs = INPUT_SIZED_STATE.get(qualname(type(module)))
        if attrs is None or HOOK_ATTR in module.__dict__:
            continue
        missing = [a for a in attrs if not hasattr(module, a)]
        if missing:
            raise AttributeError(
                f'{type(module).__name__} has no attribute {missing}, which '
                'its HostSpec declares as resized by its forward '
                '(input_sized_state); the installed version differs from '
                'the one declared.')
        setattr(module, HOOK_ATTR, InputSizedStateHook(module, attrs))
        hooked.append(name or type(module).__name__)
    return hooked


def unhook_input_sized_state(model: nn.Module) -> List[str]:
    """Undo :func:`hook_input_sized_state`.

    Args:
        model (nn.Module): Any module.

    Returns:
        list[str]: Names of the unhooked modules.
    """
    return remove_module_hooks(model, HOOK_ATTR, InputSizedStateHook)
