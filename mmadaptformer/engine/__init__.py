# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adapter_checkpoint import (ADAPTER_META_KEY, adapter_hook_cfg,
                                 build_model_and_plan,
                                 complete_adapter_checkpoint,
                                 make_adapter_checkpoint)
from .hooks import AdapterHook, SyncNormStatsHook

__all__ = [
    'AdapterHook', 'SyncNormStatsHook', 'ADAPTER_META_KEY',
    'adapter_hook_cfg', 'build_model_and_plan', 'complete_adapter_checkpoint',
    'make_adapter_checkpoint'
]
