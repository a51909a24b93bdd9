# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse to train a frozen host that nothing froze.

The wrappers freeze nothing when they are built: the ``AdapterHook``
applies a trainable plan before training. ``tools/train.py`` and the
``ConfigCheckHook`` refuse a config without that hook, but a Runner built
by hand (``Runner(model=cfg.model, ...)``, ``Runner.from_cfg`` of a config
without the recipes' ``default_hooks``) passed neither: it fine-tuned the
whole "frozen" backbone, exit 0. Every training path runs the wrapper's
forward and a backward through it, so the guarantee lives here.

A forward in train mode with gradients on, while some of the host's own
parameters (not the attached adapters or prompts) require a gradient and
no plan was applied, registers a hook on the output's tensors: the first
backward that reaches the wrapper raises before any of the host's
gradients is computed, so no optimizer step changes it. A forward alone (a
freshly built wrapper is in train mode) is not refused.
"""
from typing import Any, Iterator, List

import torch
from torch import nn

from ...utils.config_error import ConfigError

__all__ = ['HostTrainingError', 'guard_host_gradients', 'host_parameters']


class HostTrainingError(ConfigError):
    """A backward pass would train the frozen host of a wrapper that no
    trainable plan froze and that is not allowed to train it."""


def host_parameters(wrapper: nn.Module) -> List[nn.Parameter]:
    """The host's own parameters, without those of the modules the wrapper
    attached inside it.

    Args:
        wrapper (FrozenHostWrapper): The wrapper.

    Returns:
        list[nn.Parameter]: The parameters.
    """
    attached = {
        id(p)
        for parent, name in wrapper.attached_modules()
        for p in parent._modules[name].parameters()
    }
    return [p for p in wrapper.backbone.parameters() if id(p) not in attached]


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if torch.is_tensor(value):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _refusal(wrapper: nn.Module, count: int) -> str:
    name = type(wrapper).__name__
    return (
        f'{name}: a backward pass would train {count} parameters of its '
        'frozen backbone (they require a gradient), but no trainable plan '
        f'froze them: the whole backbone would be fine-tuned beside the '
        f'{wrapper.trained_part}s. Add the AdapterHook to the Runner\'s '
        "custom_hooks (custom_hooks=[dict(type='AdapterHook')], with the "
        'recipe\'s arguments if you inherit one), or freeze the backbone '
        'yourself (requires_grad=False); to train the whole model on '
        "purpose, set default_hooks.config_check=dict(type='ConfigCheckHook'"
        f', allow_trained_host=True), or the {name} module\'s '
        'allow_trained_host = True.')


def guard_host_gradients(wrapper: nn.Module, output: Any) -> Any:
    """Make a backward through ``output`` refuse to train ``wrapper``'s
    host, where it would (see the module docstring).

    Args:
        wrapper (FrozenHostWrapper): The wrapper that computed ``output``.
        output (Any): Its forward's output (a tensor, or a tuple, list or
            dict of them).

    Returns:
        Any: ``output``, unchanged.
    """
    if not (wrapper.training and torch.is_grad_enabled()):
        return output
    if getattr(wrapper, 'plan_applied', False) or getattr(
            wrapper, 'allow_trained_host', False):
        return output
    count = sum(p.numel() for p in host_parameters(wrapper) if p.requires_grad)
    if not count:
        return output

    def refuse(grad: torch.Tensor) -> None:
        raise HostTrainingError(_refusal(wrapper, count))

    for tensor in _tensors(output):
        if tensor.requires_grad:
            tensor.register_hook(refuse)
    return output
