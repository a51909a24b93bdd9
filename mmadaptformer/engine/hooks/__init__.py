# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adapter_hook import AdapterHook
from .atomic_checkpoint_hook import (AtomicCheckpointHook,
                                     use_atomic_checkpoint_hook)
from .checkpoint_check_hook import CheckpointCheckHook
from .config_check_hook import ConfigCheckHook
from .data_health_hook import DataHealthHook
from .epoch_randomness_hook import (EpochRandomnessHook,
                                    add_epoch_randomness_hook)
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .resume_check_hook import (ResumeCheckHook, ResumeStateError,
                                add_resume_check_hook)
from .sync_norm_stats_hook import SyncNormStatsHook
from .trainable_optimizer import restrict_optimizer
from .unloaded_backbone import UnloadedBackboneError
from .video_visualization_hook import VideoVisualizationHook
from .work_dir_collect_hook import (WorkDirCollectHook,
                                    add_work_dir_collect_hook)

__all__ = [
    'AdapterHook', 'AtomicCheckpointHook', 'CheckpointCheckHook',
    'ConfigCheckHook', 'DataHealthHook', 'EpochRandomnessHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'ResumeCheckHook',
    'ResumeStateError', 'add_resume_check_hook', 'SyncNormStatsHook',
    'WorkDirCollectHook', 'add_epoch_randomness_hook',
    'add_work_dir_collect_hook', 'use_atomic_checkpoint_hook',
    'restrict_optimizer', 'UnloadedBackboneError', 'VideoVisualizationHook'
]
