# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adapter_hook import AdapterHook
from .checkpoint_check_hook import CheckpointCheckHook
from .config_check_hook import ConfigCheckHook
from .data_health_hook import DataHealthHook
from .epoch_randomness_hook import (EpochRandomnessHook,
                                    add_epoch_randomness_hook)
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .sync_norm_stats_hook import SyncNormStatsHook

__all__ = [
    'AdapterHook', 'CheckpointCheckHook', 'ConfigCheckHook', 'DataHealthHook',
    'EpochRandomnessHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'SyncNormStatsHook', 'add_epoch_randomness_hook'
]
