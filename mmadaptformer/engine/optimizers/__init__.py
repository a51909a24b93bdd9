# Copyright (c) mmadaptformer contributors. All rights reserved.
from .cpu_amp_optimizer_wrapper import CPUAmpOptimWrapper, check_cpu_bf16

__all__ = ['CPUAmpOptimWrapper', 'check_cpu_bf16']
