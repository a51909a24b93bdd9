# Copyright (c) mmadaptformer contributors. All rights reserved.
from .amp_config import (AMP_ACCEPTS, apply_amp_flag,
                         mmengine_amp_wrapper_warning, optim_wrapper_class,
                         refuse_amp_without_accelerator,
                         refuse_cpu_bf16_for_mmengine_wrapper)
from .amp_optim_wrapper import (AdaptAmpOptimWrapper, CPUAmpOptimWrapper,
                                amp_cast_dtype, build_grad_scaler,
                                check_cpu_bf16)

__all__ = [
    'AdaptAmpOptimWrapper', 'CPUAmpOptimWrapper', 'amp_cast_dtype',
    'build_grad_scaler', 'check_cpu_bf16', 'AMP_ACCEPTS', 'apply_amp_flag',
    'mmengine_amp_wrapper_warning', 'refuse_amp_without_accelerator',
    'refuse_cpu_bf16_for_mmengine_wrapper', 'optim_wrapper_class'
]
