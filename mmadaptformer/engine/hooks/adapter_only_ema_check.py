# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse an ``EMAHook`` beside the AdapterHook's adapter-only
checkpoints."""
from mmengine.hooks import EMAHook

from mmadaptformer.utils import ConfigError

__all__ = ['refuse_ema_beside_adapter_only']


def refuse_ema_beside_adapter_only(runner) -> None:
    """Refuse an ``EMAHook`` beside adapter-only checkpoints
    (``AdapterHook(adapter_only_checkpoint=True)``) before the first
    iteration: its ``before_save_checkpoint`` swaps the averages of every
    tensor of the model into the state dict the AdapterHook has cut to the
    trained part, and the first save ended the run with
    ``KeyError: 'backbone.cls_token'``, its epoch lost.

    Args:
        runner (Runner): The runner about to train.

    Raises:
        ConfigError: Naming the EMAHook and the two ways out.
    """
    ema = next(
        (h for h in getattr(runner, 'hooks', ()) if isinstance(h, EMAHook)),
        None)
    if ema is not None:
        raise ConfigError(
            f'AdapterHook(adapter_only_checkpoint=True) cannot save '
            f'beside {type(ema).__name__} (custom_hooks): EMAHook puts '
            'the averaged weights of the whole model into every '
            'checkpoint, and an adapter-only checkpoint holds only what '
            'trains, so the first save would fail. Set '
            'adapter_only_checkpoint=False (full checkpoints, the '
            'averaged weights in their state_dict; '
            'tools/model_converters/extract_adapters.py makes an '
            'adapter-only file from one), or remove the EMAHook.')
