# Copyright (c) mmadaptformer contributors. All rights reserved.
from .atomic_dump import AtomicDumpResults
from .atomic_file import atomic_write
from .atomic_save import AtomicLocalBackend
from .checkpoint_loading import (CheckpointLoadError, CheckpointNotFoundError,
                                 register_safe_globals, safe_globals,
                                 safe_torch_load)
from .checkpoint_schemes import (forced_weights_only, reading_once,
                                 register_safe_checkpoint_loaders)
from .cli_types import non_negative_int, positive_int
from .config_error import ConfigError, NotAConfigFileError
from .dist import (exit_now, is_cpu_distributed, run_and_finish,
                   setup_cpu_distributed)
from .flops import count_flops
from .load_refusal import LoadRefusal
from .mmaction_compat import (UPSTREAM_GAP, MissingDRN, drn_is_missing,
                              patch_mmaction_drn, register_missing_drn,
                              upcast_mmaction_head_scores)
from .pickle_scan import scan_file_globals, scan_pickle_globals
from .png_decoding import PngDecodingError
from .pretrained_backbone import (PretrainedFileError,
                                  backbone_checkpoint_prefix,
                                  backbone_init_cfg_key,
                                  set_pretrained_backbone)
from .random_erasing_fill import RandomErasingFillError
from .refusal_text import refusal_message
from .state_dict_check import HEAD_NAMES, StateDictMismatchError
from .transform_steps import PipelineStepError
from .upstream import UPSTREAM_CHANGES, apply_upstream_fixes
from .work_dir_lock import WorkDirBusyError

__all__ = [
    'AtomicDumpResults', 'AtomicLocalBackend', 'atomic_write',
    'CheckpointLoadError', 'CheckpointNotFoundError', 'register_safe_globals',
    'refusal_message', 'safe_globals', 'safe_torch_load',
    'forced_weights_only', 'reading_once', 'register_safe_checkpoint_loaders',
    'scan_file_globals', 'scan_pickle_globals', 'UPSTREAM_CHANGES',
    'apply_upstream_fixes', 'count_flops', 'non_negative_int', 'positive_int',
    'exit_now', 'is_cpu_distributed', 'run_and_finish',
    'setup_cpu_distributed', 'UPSTREAM_GAP', 'MissingDRN', 'drn_is_missing',
    'patch_mmaction_drn', 'register_missing_drn',
    'upcast_mmaction_head_scores', 'backbone_checkpoint_prefix',
    'backbone_init_cfg_key', 'set_pretrained_backbone', 'HEAD_NAMES',
    'PretrainedFileError', 'ConfigError', 'NotAConfigFileError',
    'PngDecodingError', 'StateDictMismatchError', 'PipelineStepError',
    'WorkDirBusyError', 'RandomErasingFillError', 'LoadRefusal'
]
