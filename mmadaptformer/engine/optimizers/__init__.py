# Copyright (c) mmadaptformer contributors. All rights reserved.
from .cpu_amp_optimizer_wrapper import (CPUAmpOptimWrapper, amp_cast_dtype,
                                        build_grad_scaler, check_cpu_bf16)

__all__ = [
    'CPUAmpOptimWrapper', 'amp_cast_dtype', 'build_grad_scaler',
    'check_cpu_bf16'
]
