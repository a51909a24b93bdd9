# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One prepared check of every GPU path (issue #15): ``tools/gpu_check.sh``.
Every check also runs on a CPU (``--device cpu``), except what needs CUDA
(float16 with loss scaling, nccl), which it skips with a reason."""
from .checks import CHECKS
from .goals import GOALS, datasheet_peak, evaluate_goals
from .inference_threads import (check_array_thread_inference,
                                write_vpt_shallow_model)
from .numerics import check_amp_step, check_fused_attention, loss_and_grads
from .report import GpuCheckReport, record_stop
from .runner import (GpuCheckError, build_context, parse_gpu_check_args,
                     run_gpu_check)
from .speed import check_benchmark, check_official_baseline, check_profile
from .summary import format_gpu_summary
from .tool_runs import (check_dist_train, check_multitask_inference,
                        check_train_amp)
from .verdict import SkipCheck, Verdict
from .workspace import prepare_workspace, save_stock_checkpoint

__all__ = [
    'CHECKS', 'GOALS', 'GpuCheckError', 'GpuCheckReport', 'SkipCheck',
    'Verdict', 'build_context', 'check_array_thread_inference',
    'write_vpt_shallow_model', 'check_amp_step', 'check_benchmark',
    'check_dist_train', 'check_fused_attention', 'check_multitask_inference',
    'check_official_baseline', 'check_profile', 'check_train_amp',
    'datasheet_peak', 'evaluate_goals', 'format_gpu_summary', 'loss_and_grads',
    'parse_gpu_check_args', 'prepare_workspace', 'record_stop',
    'run_gpu_check', 'save_stock_checkpoint'
]
