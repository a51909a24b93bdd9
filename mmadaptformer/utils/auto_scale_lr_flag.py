# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py --auto-scale-lr``: turn on MMEngine's ``auto_scale_lr``
once the config is known to give the batch size its learning rate is for.

MMEngine scales the learning rate by the run's total batch over
``auto_scale_lr.base_batch_size``; a config without that key failed its
``Runner.scale_lr`` assertion once the Runner had been built, after the
work dir was made.
"""
import numbers

from .config_error import ConfigError

__all__ = ['enable_auto_scale_lr']


def enable_auto_scale_lr(cfg, config_file: str) -> None:
    """Turn on ``auto_scale_lr`` (``--auto-scale-lr``) after checking that
    ``cfg`` gives the batch size its learning rate is for.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        config_file (str): Its file, for the error.

    Raises:
        ConfigError: If ``cfg`` has no ``auto_scale_lr`` dict with a
            ``base_batch_size`` above 0; the message names the file and
            what to add.
    """
    asl = cfg.get('auto_scale_lr', None)
    if asl is None:
        found = 'has none'
    elif not isinstance(asl, dict):
        found = f'has auto_scale_lr = {asl!r}'
    elif 'base_batch_size' not in asl:
        found = 'has no base_batch_size in its auto_scale_lr'
    else:
        base = asl['base_batch_size']
        if isinstance(base, numbers.Real) and not isinstance(base, bool) \
                and base > 0:
            cfg.auto_scale_lr.enable = True
            return
        found = f'has base_batch_size={base!r}'
    raise ConfigError(
        '--auto-scale-lr needs `auto_scale_lr = dict(enable=False, '
        'base_batch_size=N)` in the config, N being the total batch (GPUs x '
        f'samples per GPU) its learning rate is set for, but {config_file} '
        f'{found}.')
