# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adapt_mlp import AdaptMLP
from .block_wiring import KNOWN_BLOCK_TYPES, block_paths
from .extras_reach import whole_backbone_extras
from .frozen_head import refuse_frozen_head
from .injection import (adapter_modules, adapter_parameter_names,
                        inject_adapters, remove_adapters)
from .trainable import (MODES, TrainablePlan, apply_trainable,
                        frozen_batch_norms, plan_trainable)

__all__ = [
    'AdaptMLP', 'KNOWN_BLOCK_TYPES', 'adapter_modules',
    'adapter_parameter_names', 'block_paths', 'inject_adapters',
    'remove_adapters', 'MODES', 'TrainablePlan', 'apply_trainable',
    'plan_trainable', 'frozen_batch_norms', 'refuse_frozen_head',
    'whole_backbone_extras'
]
