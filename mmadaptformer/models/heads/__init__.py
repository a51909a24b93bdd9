# Copyright (c) mmadaptformer contributors. All rights reserved.
from .bn_linear_head import (BNLinearClsHead, BNLinearHead,
                             SingleSampleBatchError)

__all__ = ['BNLinearHead', 'BNLinearClsHead', 'SingleSampleBatchError']
