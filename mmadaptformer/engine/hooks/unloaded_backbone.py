# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse to train adapters on a random frozen backbone."""
from mmengine.runner import Runner
from torch import nn

from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.utils.pretrained_init import pretrained_init_cfgs

__all__ = ['UnloadedBackboneError', 'check_backbone_loaded']


class UnloadedBackboneError(RuntimeError):
    """Training would start on a frozen backbone that no checkpoint
    loaded: random weights."""


def check_backbone_loaded(runner: Runner, model: nn.Module) -> None:
    """Refuse to train on a frozen backbone that was never loaded from a
    checkpoint: its weights are random.

    A frozen-host wrapper's backbone counts as loaded when the wrapper
    loaded its pretrained weights (``host_source``); a plain backbone when
    a module has a ``Pretrained`` init_cfg, or the runner loads or resumes
    a checkpoint.

    Args:
        runner (Runner): The runner about to train.
        model (nn.Module): Its unwrapped model, weights initialised.

    Raises:
        UnloadedBackboneError: Naming the backbone, the config key that
            loads it and ``AdapterHook(allow_random_backbone=True)``.
    """
    wrappers = [(name, module) for name, module in model.named_modules()
                if isinstance(module, FrozenHostWrapper)]
    if wrappers:
        unloaded = [(name, module) for name, module in wrappers
                    if module.host_source is None]
        if not unloaded:
            return
        name, module = unloaded[0]
        key = module.pretrained_key.replace('model.backbone.',
                                            f'model.{name}.', 1)
        what = (f'The frozen backbone {type(module.backbone).__name__} '
                f'of {type(module).__name__} (model.{name}.backbone)')
    else:
        if any(pretrained_init_cfgs(m) for m in model.modules()) or \
                runner.cfg.get('load_from') or runner.cfg.get('resume'):
            return
        backbone = getattr(model, 'backbone', None)
        key = 'model.backbone.init_cfg.checkpoint'
        what = (f'The frozen backbone {type(backbone).__name__} '
                '(model.backbone)')
    init_cfg = key[:-len('.checkpoint')]
    raise UnloadedBackboneError(
        f'AdapterHook: {what} was never loaded from a checkpoint: its '
        f'weights are random, and what trains on random frozen weights '
        f'is useless on any real backbone. Give tools/train.py '
        f'--pretrained PATH, or set {init_cfg} = '
        f"dict(type='Pretrained', checkpoint=PATH) (config key {key}), "
        f'or load a full checkpoint with load_from. To train on a random '
        f'frozen backbone on purpose (tests, a demo that pretrains it), '
        f'set AdapterHook(allow_random_backbone=True).')
