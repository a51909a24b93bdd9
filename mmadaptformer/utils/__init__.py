# Copyright (c) mmadaptformer contributors. All rights reserved.
from .atomic_save import atomic_write, register_atomic_local_writes
from .checkpoint_loading import (CheckpointLoadError, register_safe_globals,
                                 register_safe_local_loader, safe_globals,
                                 safe_torch_load)
from .dist import (exit_now, is_cpu_distributed, run_and_finish,
                   setup_cpu_distributed)
from .flops import count_flops
from .mmaction_compat import (UPSTREAM_GAP, MissingDRN, drn_is_missing,
                              patch_mmaction_drn, register_missing_drn,
                              upcast_mmaction_head_scores)
from .pretrained_backbone import (backbone_checkpoint_prefix,
                                  backbone_init_cfg_key,
                                  set_pretrained_backbone)

__all__ = [
    'atomic_write', 'register_atomic_local_writes',
    'CheckpointLoadError', 'register_safe_globals',
    'register_safe_local_loader', 'safe_globals', 'safe_torch_load',
    'count_flops', 'exit_now', 'is_cpu_distributed', 'run_and_finish',
    'setup_cpu_distributed',
    'UPSTREAM_GAP', 'MissingDRN', 'drn_is_missing', 'patch_mmaction_drn',
    'register_missing_drn', 'upcast_mmaction_head_scores',
    'backbone_checkpoint_prefix', 'backbone_init_cfg_key',
    'set_pretrained_backbone'
]
