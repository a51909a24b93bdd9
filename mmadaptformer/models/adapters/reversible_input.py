# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Let a reversible host's custom backward reach the adapters.

A reversible backbone (RevViT) runs its blocks inside a custom autograd
function that stores no activations: its backward recomputes them and
calls ``backward`` on each block's sub-layers, which is where every block
parameter, the adapters included, gets its gradient. Autograd calls that
backward only if the function's output requires a gradient, i.e. only if
its input does. With the host frozen (AdaptFormer's setting) nothing in
front of the blocks requires one, so the adapters would silently get no
gradient. A forward hook on the module that feeds the function
(:attr:`~mmadaptformer.models.HostSpec.reversible_input`) makes its output
require one in training.
"""
from typing import List, Optional, Tuple

import torch
from torch import nn

from ..hosts import HOSTS, qualname
from .module_hooks import remove_module_hooks
from .router import ADAPTER_ATTR

__all__ = [
    'REVERSIBLE_INPUTS', 'ReversibleInputHook', 'find_reversible_inputs',
    'hook_reversible_inputs', 'unhook_reversible_inputs'
]

#: Backbone qualname -> the attribute that feeds its reversible function.
#: Derived from :data:`mmadaptformer.models.hosts.HOSTS`.
REVERSIBLE_INPUTS = {
    spec.backbone: spec.reversible_input
    for spec in HOSTS if spec.reversible_input is not None
}

#: The attribute of the backbone that holds its hook.
HOOK_ATTR = '_adapter_reversible_input'


class ReversibleInputHook:
    """The forward hook on one backbone's reversible input.

    A plain object with a bound-method hook, as
    :class:`~mmadaptformer.models.adapters.router.AdapterRouter`, so that
    ``copy.deepcopy`` of the model hooks the copy to the copied backbone.
    """

    def __init__(self, backbone: nn.Module, feed: nn.Module) -> None:
        self.backbone = backbone
        self.handle = feed.register_forward_hook(self.hook)

    def hook(self, module: nn.Module, args: tuple,
             output) -> Optional[torch.Tensor]:
        if self.backbone.training and torch.is_grad_enabled() and \
                isinstance(output, torch.Tensor) and \
                output.is_floating_point() and not output.requires_grad:
            return output.detach().requires_grad_()
        return None

    def remove(self) -> None:
        self.handle.remove()


def _has_adapters(module: nn.Module) -> bool:
    return any(
        isinstance(getattr(m, ADAPTER_ATTR, None), nn.Module)
        for m in module.modules())


def find_reversible_inputs(
        model: nn.Module) -> List[Tuple[str, nn.Module, nn.Module]]:
    """The reversible hosts in ``model`` and the modules feeding them.

    Args:
        model (nn.Module): Any module.

    Returns:
        list[tuple[str, nn.Module, nn.Module]]: ``(name, backbone, feed)``
        in module order.

    Raises:
        AttributeError: A reversible host lacks the declared module.
    """
    found = []
    for name, module in model.named_modules():
        attr = REVERSIBLE_INPUTS.get(qualname(type(module)))
        if attr is None:
            continue
        feed = getattr(module, attr, None)
        if not isinstance(feed, nn.Module):
            raise AttributeError(
                f'{type(module).__name__} has no module {attr!r}, which its '
                'HostSpec declares as the input of its reversible blocks '
                '(reversible_input); the installed version differs from the '
                'one declared.')
        found.append((name or type(module).__name__, module, feed))
    return found


def hook_reversible_inputs(
        found: List[Tuple[str, nn.Module, nn.Module]]) -> List[str]:
    """Hook the input of each reversible host that holds adapters and has no
    hook yet.

    Args:
        found (list[tuple[str, nn.Module, nn.Module]]): As returned by
            :func:`find_reversible_inputs`.

    Returns:
        list[str]: Names of the newly hooked backbones.
    """
    hooked = []
    for name, backbone, feed in found:
        if HOOK_ATTR in backbone.__dict__ or not _has_adapters(backbone):
            continue
        setattr(backbone, HOOK_ATTR, ReversibleInputHook(backbone, feed))
        hooked.append(name)
    return hooked


def unhook_reversible_inputs(model: nn.Module) -> List[str]:
    """Undo :func:`hook_reversible_inputs`.

    Args:
        model (nn.Module): Any module.

    Returns:
        list[str]: Names of the unhooked backbones.
    """
    return remove_module_hooks(model, HOOK_ATTR, ReversibleInputHook)
