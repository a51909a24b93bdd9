# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adapters import (KNOWN_BLOCK_TYPES, AdaptMLP, adapter_modules,
                       adapter_parameter_names, inject_adapters,
                       remove_adapters)
from .backbones import AdaptFormer
from .heads import BNLinearClsHead, BNLinearHead

__all__ = [
    'AdaptFormer', 'AdaptMLP', 'BNLinearHead', 'BNLinearClsHead',
    'KNOWN_BLOCK_TYPES', 'adapter_modules', 'adapter_parameter_names',
    'inject_adapters', 'remove_adapters'
]
