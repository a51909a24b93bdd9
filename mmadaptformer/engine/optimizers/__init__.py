# Copyright (c) mmadaptformer contributors. All rights reserved.
from .amp_optim_wrapper import (AdaptAmpOptimWrapper, CPUAmpOptimWrapper,
                                amp_cast_dtype, build_grad_scaler,
                                check_cpu_bf16)

__all__ = [
    'AdaptAmpOptimWrapper', 'CPUAmpOptimWrapper', 'amp_cast_dtype',
    'build_grad_scaler', 'check_cpu_bf16'
]
