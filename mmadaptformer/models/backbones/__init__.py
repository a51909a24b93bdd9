# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adaptformer import AdaptFormer
from .vpt import PROMPTABLE_BLOCK_TYPES, VPT

__all__ = ['AdaptFormer', 'PROMPTABLE_BLOCK_TYPES', 'VPT']
