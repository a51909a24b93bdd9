# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Build a config's model and its trainable plan, as training would."""
import copy
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmadaptformer.models.adapters.trainable import (TrainablePlan,
                                                     plan_trainable)
from mmadaptformer.utils import HEAD_NAMES, ConfigError
from mmadaptformer.utils.hook_entries import hook_entries

__all__ = ['adapter_hook_cfg', 'build_model_and_plan']


def adapter_hook_cfg(cfg: Config) -> Optional[dict]:
    """The first ``AdapterHook`` (or subclass,
    :func:`~mmadaptformer.utils.hook_entries.hook_entries`) entry of a
    config's ``default_hooks`` or ``custom_hooks``, if any.

    Args:
        cfg (Config): A training config.

    Returns:
        dict, optional: A copy of the hook's config dict.
    """
    # By name: the hook's module imports this one.
    for found in hook_entries(cfg, 'AdapterHook'):
        return copy.deepcopy(dict(found.entry))
    return None


def build_model_and_plan(
        cfg: Config,
        init_weights: bool = True) -> Tuple[nn.Module, TrainablePlan]:
    """Build a config's model and its trainable plan, as training would.

    Args:
        cfg (Config): A config with ``model`` and an ``AdapterHook`` in
            ``custom_hooks``.
        init_weights (bool): Initialise the weights as training starts
            them, so the frozen backbone is the config's pretrained one.
            A caller that loads a full checkpoint next needs no pretrained
            file and passes False. Defaults to True.

    Returns:
        tuple: The model (in eval mode) and its :class:`TrainablePlan`.

    Raises:
        ConfigError: If the config has no ``AdapterHook``; the message
            names the config file.
    """
    hook = adapter_hook_cfg(cfg)
    if hook is None:
        source = cfg.filename or 'The config'
        raise ConfigError(
            f'{source} has no AdapterHook in '
            'custom_hooks, so which parts are trainable (and saved in an '
            'adapter-only checkpoint) is undefined. Give the AdaptFormer or '
            'VPT config the checkpoint was trained with, whose custom_hooks '
            "hold dict(type='AdapterHook', ...), not the stock model's.")
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(copy.deepcopy(cfg.model))
    if init_weights:
        model.init_weights()
    model.eval()
    plan = plan_trainable(
        model,
        mode=hook.get('mode', 'adaptformer'),
        head=hook.get('head', HEAD_NAMES),
        extra_trainable=hook.get('extra_trainable', ()))
    return model, plan
