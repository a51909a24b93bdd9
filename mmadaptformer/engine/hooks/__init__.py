# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adapter_hook import AdapterHook
from .sync_norm_stats_hook import SyncNormStatsHook

__all__ = ['AdapterHook', 'SyncNormStatsHook']
