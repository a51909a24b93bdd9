# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse to train a frozen-host wrapper that no ``AdapterHook`` freezes."""
from typing import Optional, Tuple

from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.model_unwrap import unwrapped_model
from .adapter_hook import AdapterHook

__all__ = ['refuse_wrapper_without_adapter_hook']


def _first_wrapper(model) -> Optional[Tuple[str, str]]:
    """The config key and class name of the first frozen-host wrapper in
    ``model``."""
    for name, module in model.named_modules():
        if isinstance(module, FrozenHostWrapper):
            return f'model.{name}' if name else 'model', type(module).__name__
    return None


def refuse_wrapper_without_adapter_hook(runner) -> None:
    """Stop a run whose model has AdaptFormer or VPT but no AdapterHook.

    The wrappers freeze nothing themselves: the ``AdapterHook`` does, and
    it saves the adapter-only checkpoints. MMEngine merges a config's
    dicts with its base's but replaces lists, so a config that inherits a
    recipe and writes ``custom_hooks = [dict(type='EMAHook')]`` (or
    ``--cfg-options custom_hooks=[]``) dropped the recipe's AdapterHook:
    the "frozen" backbone trained with the adapters and every checkpoint
    held the whole model, without a word.

    Raises:
        ConfigError: Naming the wrapper's config key, ``custom_hooks`` and
            the line to add back.
    """
    if any(isinstance(hook, AdapterHook) for hook in runner.hooks):
        return
    found = _first_wrapper(unwrapped_model(runner.model))
    if found is None:
        return
    key, wrapper = found
    raise ConfigError(
        f'{key} is {wrapper}, but no AdapterHook is in custom_hooks: '
        'nothing would freeze the backbone, which would train with the '
        'adapters, and checkpoints would hold the whole model. A config\'s '
        'custom_hooks replaces its base\'s list (MMEngine merges dicts, '
        'not lists); add the recipe\'s hook back, e.g. custom_hooks = '
        "[dict(type='AdapterHook', extra_trainable=[r'^backbone\\.fc_norm"
        "\\.'], adapter_only_checkpoint=True), ...], or set "
        'default_hooks.config_check.allow_trained_host=True to train the '
        'whole model.')
