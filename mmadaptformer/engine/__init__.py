# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adapter_checkpoint import (ADAPTER_META_KEY, adapter_hook_cfg,
                                 build_model_and_plan, check_frozen_digest,
                                 check_holds_trained_part,
                                 complete_adapter_checkpoint,
                                 make_adapter_checkpoint)
from .config_copy_runner import (ConfigCopyMixin, ConfigCopyRunner,
                                 build_runner, config_copy_name)
from .hooks import (AdapterHook, AtomicCheckpointHook, CheckpointCheckHook,
                    ConfigCheckHook, DataHealthHook, EpochRandomnessHook,
                    NonFiniteLossError, NonFiniteLossHook, ResumeCheckHook,
                    ResumeStateError, SyncNormStatsHook, UnloadedBackboneError,
                    WorkDirCollectHook, add_epoch_randomness_hook,
                    add_work_dir_collect_hook, restrict_optimizer,
                    use_atomic_checkpoint_hook)
from .optimizers import (AdaptAmpOptimWrapper, CPUAmpOptimWrapper,
                         check_cpu_bf16)
from .refusals import REFUSALS, refusal_line, refusals_exit

__all__ = [
    'AdapterHook', 'AtomicCheckpointHook', 'CheckpointCheckHook',
    'ConfigCheckHook', 'DataHealthHook', 'EpochRandomnessHook',
    'use_atomic_checkpoint_hook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'ResumeCheckHook', 'ResumeStateError', 'SyncNormStatsHook',
    'UnloadedBackboneError', 'WorkDirCollectHook', 'add_epoch_randomness_hook',
    'add_work_dir_collect_hook', 'AdaptAmpOptimWrapper', 'CPUAmpOptimWrapper',
    'check_cpu_bf16', 'ADAPTER_META_KEY', 'adapter_hook_cfg',
    'build_model_and_plan', 'check_frozen_digest', 'check_holds_trained_part',
    'complete_adapter_checkpoint', 'make_adapter_checkpoint',
    'restrict_optimizer', 'ConfigCopyMixin', 'ConfigCopyRunner',
    'build_runner', 'config_copy_name', 'REFUSALS', 'refusal_line',
    'refusals_exit'
]
