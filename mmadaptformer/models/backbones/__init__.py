# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adaptformer import AdaptFormer

__all__ = ['AdaptFormer']
