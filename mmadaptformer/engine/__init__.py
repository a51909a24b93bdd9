# Copyright (c) mmadaptformer contributors. All rights reserved.
# yapf: disable (isort and yapf wrap this import apart)
from .adapter_checkpoint import (ADAPTER_META_KEY, EXPECTED_CHECKPOINT,
                                 HOST_SOURCES_META_KEY, RECORD_OUTCOMES,
                                 WRITTEN_BY, CheckpointMetaError,
                                 adapter_hook_cfg, build_model_and_plan,
                                 check_adapter_record, check_frozen_digest,
                                 check_holds_adapter_head,
                                 check_holds_trained_part, check_record_held,
                                 check_tensor_entries, checkpoint_meta,
                                 checkpoint_state_dict,
                                 complete_adapter_checkpoint,
                                 frozen_host_sources, make_adapter_checkpoint,
                                 other_method)
from .bn_head_batch_check import check_bn_head_batch
# yapf: enable
from .config_copy_runner import (ConfigCopyMixin, ConfigCopyRunner,
                                 build_runner, config_copy_name)
from .head_classes_check import (check_head_classes, config_check_heads,
                                 folder_classes)
# yapf: disable (isort and yapf wrap this import apart)
from .hooks import (HOOK_SECTIONS, SAMPLER_SEED_KEY, TRAINING_STATE_KEYS,
                    AdapterHook, AtomicCheckpointHook, CheckpointCheckHook,
                    ConfigCheckHook, DataHealthHook, EpochRandomnessHook,
                    FrozenTensorsChangedError, HookEntry,
                    ImageVisualizationHook, NonFiniteLossError,
                    NonFiniteLossHook, OwnWeightsLoads, ResumeCheckHook,
                    ResumeStateError, ShortVideoTally, SyncNormStatsHook,
                    UnloadedBackboneError, VideoVisualizationHook,
                    WorkDirCollectHook, add_epoch_randomness_hook,
                    add_hook_once, add_resume_check_hook,
                    add_work_dir_collect_hook, allow_trained_hosts,
                    batch_samples, blending_num_classes, built_optim_wrappers,
                    check_adapter_hook_config, check_adapter_hook_plan,
                    check_adapter_hook_presence, check_backbone_loaded,
                    check_frozen_unchanged, check_resume_state,
                    check_strict_evaluation, check_training_state,
                    data_preprocessor_key, dataset_classes,
                    dataset_num_classes, drawing_name, epoch_seed,
                    first_view_frames, freeze_to_plan, hook_argument_place,
                    hook_config_key, hook_config_keys, hook_entries,
                    hook_place, image_roots, named_optim_wrappers,
                    nchw_view_frames, optimizer_state_mismatch,
                    refuse_ema_beside_adapter_only,
                    refuse_resume_without_trained_part,
                    refuse_unloaded_backbone,
                    refuse_wrapper_without_adapter_hook, registered_again,
                    registered_of_type, repeated_adapter_hooks,
                    restrict_optimizer, resumed_source, run_span,
                    scheduler_config_keys, scheduler_setting_keys,
                    scheduler_state_lists, trainable_table, untrained_file,
                    use_atomic_checkpoint_hook, wrapped_datasets)
# yapf: enable
from .lr_multipliers import (auto_scale_ratio, custom_key_for,
                             group_lr_multipliers)
from .optim_check import check_trainable_lr
from .optimizer_settings import (base_settings, optimizer_setting_changes,
                                 values_differ)
from .optimizers import (AMP_ACCEPTS, AdaptAmpOptimWrapper, CPUAmpOptimWrapper,
                         amp_cast_dtype, apply_amp_flag, build_grad_scaler,
                         check_cpu_bf16, mmengine_amp_wrapper_warning,
                         optim_wrapper_class, refuse_amp_without_accelerator,
                         refuse_cpu_bf16_for_mmengine_wrapper)
from .plan_argument_place import naming_plan_arguments, plan_argument_place
from .refusals import REFUSALS, refusal_line, refusals_exit, worker_message
from .resume import (ALLOW_RESTART_FLAG, CORRUPT_SUFFIX,
                     NoResumableCheckpointError, ResumePlan, apply_auto_resume,
                     find_resume_checkpoint, log_resume_plan)
from .testing_config import (add_dump_metrics, add_tta,
                             trigger_visualization_hook)
from .train_loop_check import check_loop_keys, check_train_loop

__all__ = [
    'check_holds_adapter_head', 'AdapterHook', 'AtomicCheckpointHook',
    'CheckpointCheckHook', 'ConfigCheckHook', 'DataHealthHook',
    'EpochRandomnessHook', 'use_atomic_checkpoint_hook', 'NonFiniteLossError',
    'FrozenTensorsChangedError', 'check_frozen_unchanged', 'run_span',
    'NonFiniteLossHook', 'ResumeCheckHook', 'ResumeStateError',
    'SyncNormStatsHook', 'UnloadedBackboneError', 'VideoVisualizationHook',
    'ImageVisualizationHook', 'drawing_name', 'image_roots',
    'WorkDirCollectHook', 'add_epoch_randomness_hook', 'add_resume_check_hook',
    'add_work_dir_collect_hook', 'AdaptAmpOptimWrapper', 'CPUAmpOptimWrapper',
    'check_cpu_bf16', 'AMP_ACCEPTS', 'amp_cast_dtype', 'apply_amp_flag',
    'build_grad_scaler', 'mmengine_amp_wrapper_warning',
    'refuse_amp_without_accelerator', 'refuse_cpu_bf16_for_mmengine_wrapper',
    'ADAPTER_META_KEY', 'EXPECTED_CHECKPOINT', 'HOST_SOURCES_META_KEY',
    'WRITTEN_BY', 'adapter_hook_cfg', 'build_model_and_plan',
    'check_adapter_record', 'check_frozen_digest', 'check_holds_trained_part',
    'check_tensor_entries', 'checkpoint_meta', 'checkpoint_state_dict',
    'complete_adapter_checkpoint', 'frozen_host_sources',
    'make_adapter_checkpoint', 'RECORD_OUTCOMES', 'check_record_held',
    'other_method', 'restrict_optimizer', 'ConfigCopyMixin',
    'ConfigCopyRunner', 'build_runner', 'config_copy_name', 'REFUSALS',
    'refusal_line', 'refusals_exit', 'worker_message', 'auto_scale_ratio',
    'check_trainable_lr', 'custom_key_for', 'group_lr_multipliers',
    'base_settings', 'optimizer_setting_changes', 'values_differ',
    'ALLOW_RESTART_FLAG', 'CORRUPT_SUFFIX', 'NoResumableCheckpointError',
    'ResumePlan', 'apply_auto_resume', 'find_resume_checkpoint',
    'log_resume_plan', 'add_dump_metrics', 'add_tta',
    'trigger_visualization_hook', 'check_train_loop', 'check_loop_keys',
    'check_adapter_hook_config', 'check_adapter_hook_plan',
    'refuse_wrapper_without_adapter_hook', 'check_adapter_hook_presence',
    'allow_trained_hosts', 'HOOK_SECTIONS', 'HookEntry', 'hook_entries',
    'registered_again', 'repeated_adapter_hooks', 'plan_argument_place',
    'naming_plan_arguments', 'blending_num_classes', 'data_preprocessor_key',
    'dataset_classes', 'dataset_num_classes', 'epoch_seed', 'SAMPLER_SEED_KEY',
    'hook_config_key', 'hook_config_keys', 'registered_of_type', 'hook_place',
    'hook_argument_place', 'add_hook_once', 'check_resume_state',
    'check_training_state', 'refuse_resume_without_trained_part',
    'resumed_source', 'named_optim_wrappers', 'optimizer_state_mismatch',
    'scheduler_state_lists', 'scheduler_config_keys', 'scheduler_setting_keys',
    'wrapped_datasets', 'check_strict_evaluation', 'built_optim_wrappers',
    'check_backbone_loaded', 'refuse_unloaded_backbone', 'OwnWeightsLoads',
    'first_view_frames', 'nchw_view_frames', 'TRAINING_STATE_KEYS',
    'untrained_file', 'optim_wrapper_class', 'check_head_classes',
    'check_bn_head_batch', 'config_check_heads', 'folder_classes',
    'CheckpointMetaError', 'freeze_to_plan', 'trainable_table',
    'refuse_ema_beside_adapter_only', 'ShortVideoTally', 'batch_samples'
]
