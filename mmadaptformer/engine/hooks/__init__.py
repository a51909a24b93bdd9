# Copyright (c) mmadaptformer contributors. All rights reserved.
from mmadaptformer.utils.hook_entries import (HOOK_SECTIONS, HookEntry,
                                              hook_entries)
from .adapter_hook import AdapterHook, repeated_adapter_hooks
from .adapter_hook_config_check import (check_adapter_hook_config,
                                        check_adapter_hook_plan)
from .adapter_hook_presence import (allow_trained_hosts,
                                    check_adapter_hook_presence,
                                    refuse_wrapper_without_adapter_hook)
from .adapter_only_ema_check import refuse_ema_beside_adapter_only
from .atomic_checkpoint_hook import (AtomicCheckpointHook,
                                     use_atomic_checkpoint_hook)
from .checkpoint_check_hook import CheckpointCheckHook
from .config_check_hook import (ConfigCheckHook, blending_num_classes,
                                data_preprocessor_key, dataset_classes,
                                dataset_num_classes)
from .data_health_hook import DataHealthHook
from .epoch_randomness_hook import (SAMPLER_SEED_KEY, EpochRandomnessHook,
                                    add_epoch_randomness_hook, epoch_seed)
from .frozen_tensors_check import (FrozenTensorsChangedError,
                                   check_frozen_unchanged, run_span)
from .hook_config_place import (hook_argument_place, hook_config_key,
                                hook_config_keys, hook_origin, hook_place,
                                registered_of_type)
from .image_visualization_hook import (ImageVisualizationHook, drawing_name,
                                       image_roots)
from .new_run_args import checkpoint_file, new_run_args, new_work_dir
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .registration import add_hook_once, registered_again
from .resume_check_hook import ResumeCheckHook, add_resume_check_hook
from .resume_state_check import (ResumeStateError, check_resume_state,
                                 check_training_state,
                                 refuse_resume_without_trained_part,
                                 resumed_source)
from .resume_state_fit import (optimizer_state_mismatch, scheduler_config_keys,
                               scheduler_setting_keys, scheduler_state_lists)
from .resumed_batch import (TRAIN_BATCH_KEY, accumulated_batches,
                            effective_batch, epoch_lengths, lr_scales,
                            record_count, recorded_batch, same_in_epochs,
                            total_batch, train_batch_record,
                            unrecorded_scale_note, unscaled_groups)
from .resumed_batch_warning import batch_change_warning
from .resumed_schedule import kept_schedule_effect
from .run_optim_wrappers import (built_optim_wrappers, named_optim_wrappers,
                                 run_trains)
from .short_video_tally import ShortVideoTally, batch_samples
from .strict_evaluation import check_strict_evaluation, wrapped_datasets
from .sync_norm_stats_hook import SyncNormStatsHook
from .trainable_freeze import freeze_to_plan, trainable_table
from .trainable_optimizer import restrict_optimizer
from .unloaded_backbone import (OwnWeightsLoads, UnloadedBackboneError,
                                check_backbone_loaded,
                                refuse_unloaded_backbone)
from .video_visualization_hook import (VideoVisualizationHook,
                                       first_view_frames, nchw_view_frames)
from .weights_file import (TRAINING_STATE_KEYS, trained_part_tensors,
                           untrained_file, weight_keys)
from .work_dir_collect_hook import (WorkDirCollectHook,
                                    add_work_dir_collect_hook)

__all__ = [
    'AdapterHook', 'AtomicCheckpointHook', 'CheckpointCheckHook',
    'ConfigCheckHook', 'DataHealthHook', 'EpochRandomnessHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'ResumeCheckHook',
    'ResumeStateError', 'add_resume_check_hook', 'SyncNormStatsHook',
    'WorkDirCollectHook', 'add_epoch_randomness_hook',
    'add_work_dir_collect_hook', 'use_atomic_checkpoint_hook',
    'restrict_optimizer', 'UnloadedBackboneError', 'VideoVisualizationHook',
    'check_adapter_hook_config', 'check_adapter_hook_plan',
    'refuse_wrapper_without_adapter_hook', 'check_adapter_hook_presence',
    'allow_trained_hosts', 'blending_num_classes', 'data_preprocessor_key',
    'dataset_classes', 'dataset_num_classes', 'epoch_seed', 'SAMPLER_SEED_KEY',
    'hook_config_key', 'hook_config_keys', 'registered_of_type', 'hook_place',
    'hook_origin', 'hook_argument_place', 'add_hook_once', 'registered_again',
    'repeated_adapter_hooks', 'HOOK_SECTIONS', 'HookEntry', 'hook_entries',
    'check_resume_state', 'check_training_state',
    'refuse_resume_without_trained_part', 'resumed_source',
    'named_optim_wrappers', 'optimizer_state_mismatch',
    'scheduler_state_lists', 'scheduler_config_keys', 'scheduler_setting_keys',
    'wrapped_datasets', 'check_strict_evaluation', 'built_optim_wrappers',
    'run_trains', 'check_backbone_loaded', 'refuse_unloaded_backbone',
    'OwnWeightsLoads', 'first_view_frames', 'nchw_view_frames',
    'TRAINING_STATE_KEYS', 'untrained_file', 'trained_part_tensors',
    'weight_keys', 'FrozenTensorsChangedError', 'check_frozen_unchanged',
    'run_span', 'freeze_to_plan', 'trainable_table',
    'refuse_ema_beside_adapter_only', 'ShortVideoTally', 'batch_samples',
    'ImageVisualizationHook', 'drawing_name', 'image_roots',
    'kept_schedule_effect', 'TRAIN_BATCH_KEY', 'train_batch_record',
    'recorded_batch', 'batch_change_warning', 'lr_scales', 'unscaled_groups',
    'unrecorded_scale_note', 'epoch_lengths', 'same_in_epochs', 'record_count',
    'total_batch', 'accumulated_batches', 'effective_batch', 'checkpoint_file',
    'new_run_args', 'new_work_dir'
]
