# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adaptformer import AdaptFormer
from .base_wrapper import UNNAMED_STATE_DICT, FrozenHostWrapper
from .frozen_host_entries import frozen_host_entries
from .frozen_host_record import FROZEN_HOST_KEY, FrozenBackboneMismatchError
from .host_build import build_host_backbone
from .host_grad_guard import HostTrainingError, host_parameters
from .own_loading_hint import own_loading_hint_of_cfg
from .own_pretrained import pretrained_names_of_cfg, set_host_pretrained
from .vpt import VPT
from .vpt_hosts import PROMPTABLE_BLOCK_TYPES

__all__ = [
    'AdaptFormer', 'FROZEN_HOST_KEY', 'FrozenBackboneMismatchError',
    'FrozenHostWrapper', 'HostTrainingError', 'host_parameters',
    'PROMPTABLE_BLOCK_TYPES', 'VPT', 'build_host_backbone',
    'frozen_host_entries', 'UNNAMED_STATE_DICT', 'own_loading_hint_of_cfg',
    'pretrained_names_of_cfg', 'set_host_pretrained'
]
