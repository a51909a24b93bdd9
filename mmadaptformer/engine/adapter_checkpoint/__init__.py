# Copyright (c) mmadaptformer contributors. All rights reserved.
from mmadaptformer.utils.adapter_only_fit import ADAPTER_META_KEY
from mmadaptformer.utils.trained_part_fit import check_holds_trained_part
from .adapter_only import (HOST_SOURCES_META_KEY, check_frozen_digest,
                           check_holds_adapter_head,
                           complete_adapter_checkpoint, frozen_host_sources,
                           make_adapter_checkpoint, other_method)
from .from_config import adapter_hook_cfg, build_model_and_plan
from .layout import (EXPECTED_CHECKPOINT, RECORD_OUTCOMES, WRITTEN_BY,
                     CheckpointMetaError, check_adapter_record,
                     check_record_held, check_tensor_entries, checkpoint_meta,
                     checkpoint_state_dict)
from .state_record import complete_from_state_record

__all__ = [
    'check_holds_adapter_head', 'ADAPTER_META_KEY', 'make_adapter_checkpoint',
    'check_adapter_record', 'complete_adapter_checkpoint',
    'check_frozen_digest', 'adapter_hook_cfg', 'build_model_and_plan',
    'HOST_SOURCES_META_KEY', 'frozen_host_sources', 'check_holds_trained_part',
    'checkpoint_meta', 'checkpoint_state_dict', 'check_tensor_entries',
    'EXPECTED_CHECKPOINT', 'WRITTEN_BY', 'RECORD_OUTCOMES',
    'check_record_held', 'other_method', 'CheckpointMetaError',
    'complete_from_state_record'
]
