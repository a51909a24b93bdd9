# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a config runs on MMEngine's own runner, whose reading of the
config the pre-build checks know."""
from mmengine.config import Config

__all__ = ['MMENGINE_RUNNERS', 'mmengine_runner']

#: The runners that read a config's dataloaders and ``env_cfg`` as
#: MMEngine's own do (``ConfigCopyRunner``, which the repository's configs
#: name, is MMEngine's ``Runner``); another ``runner_type`` may read other
#: keys.
MMENGINE_RUNNERS = ('Runner', 'FlexibleRunner', 'ConfigCopyRunner')


def mmengine_runner(cfg: Config) -> bool:
    """Whether the config's ``runner_type`` (MMEngine's ``Runner`` when
    unset) is one of :data:`MMENGINE_RUNNERS`."""
    runner = cfg.get('runner_type')
    return runner is None or str(runner).split('.')[-1] in MMENGINE_RUNNERS
