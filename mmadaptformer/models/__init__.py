# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adapters import (KNOWN_BLOCK_TYPES, MODES, AdaptMLP, TrainablePlan,
                       adapter_modules, adapter_parameter_names,
                       apply_trainable, block_paths, frozen_batch_norms,
                       inject_adapters, plan_trainable, remove_adapters)
from .backbones import (FROZEN_HOST_KEY, PROMPTABLE_BLOCK_TYPES, VPT,
                        AdaptFormer, FrozenBackboneMismatchError,
                        FrozenHostWrapper, HostTrainingError,
                        build_host_backbone, frozen_host_entries,
                        own_loading_hint_of_cfg, pretrained_names_of_cfg,
                        set_host_pretrained)
from .heads import BNLinearClsHead, BNLinearHead, SingleSampleBatchError
from .hosts import HOSTS, HostSpec
from .utils import (CONTIGUOUS_TOKEN_HOSTS, FUSED_ATTENTION_FORWARDS,
                    checkpoint_blocks, fuse_attention, make_tokens_contiguous)

__all__ = [
    'AdaptFormer', 'AdaptMLP', 'BNLinearHead', 'BNLinearClsHead',
    'KNOWN_BLOCK_TYPES', 'MODES', 'PROMPTABLE_BLOCK_TYPES', 'TrainablePlan',
    'VPT', 'adapter_modules', 'adapter_parameter_names', 'apply_trainable',
    'frozen_batch_norms', 'block_paths', 'inject_adapters', 'plan_trainable',
    'remove_adapters', 'CONTIGUOUS_TOKEN_HOSTS', 'FUSED_ATTENTION_FORWARDS',
    'checkpoint_blocks', 'fuse_attention', 'make_tokens_contiguous',
    'FROZEN_HOST_KEY', 'FrozenBackboneMismatchError', 'FrozenHostWrapper',
    'HostTrainingError', 'build_host_backbone', 'frozen_host_entries', 'HOSTS',
    'HostSpec', 'own_loading_hint_of_cfg', 'pretrained_names_of_cfg',
    'set_host_pretrained', 'SingleSampleBatchError'
]
