# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Training speed and memory of AdaptFormer against linear probing and full
fine-tuning (``tools/analysis_tools/benchmark_train.py``)."""
from .flops import (SDPARecompute, checkpointing_off, count_step_flops,
                    sdpa_recompute_flops)
from .input_check import input_size_problem
from .inputs import (ADAPTFORMER_TYPES, input_spec, load_config, model_cfg_for,
                     num_classes_of, optim_wrapper_cfg_for, synthetic_batch)
from .machine import cpu_info, loadavg
from .measure import measure_mode
from .memory import PeakMemory, memory_fields
from .options import (AMP_DTYPES, BATCH_SIZE_REASON, DEFAULT_MODES,
                      LEAST_VALUES, MODES, REFERENCE_MODE,
                      DefaultsHelpFormatter, amp_problem, build_parser,
                      check_counts, config_batch_size_problem, count_problem,
                      parse_args)
from .report import (format_summary, format_table, plot, row_name, summarize,
                     summary_title)
from .runner import WorkerError, rotated, run_benchmark, run_worker
from .threads import threads_problem, usable_cores, use_threads
from .utilisation import matmul_flops_per_s, measure_matmul, timed, utilisation
from .worker_process import run_passing_stderr, worker_command

__all__ = [
    'ADAPTFORMER_TYPES', 'AMP_DTYPES', 'BATCH_SIZE_REASON', 'DEFAULT_MODES',
    'LEAST_VALUES', 'MODES', 'amp_problem', 'check_counts', 'count_problem',
    'config_batch_size_problem', 'use_threads', 'REFERENCE_MODE',
    'DefaultsHelpFormatter', 'PeakMemory', 'SDPARecompute', 'build_parser',
    'checkpointing_off', 'count_step_flops', 'cpu_info', 'format_summary',
    'format_table', 'input_size_problem', 'input_spec', 'load_config',
    'loadavg', 'matmul_flops_per_s', 'measure_matmul', 'measure_mode',
    'memory_fields', 'model_cfg_for', 'num_classes_of',
    'optim_wrapper_cfg_for', 'parse_args', 'plot', 'row_name', 'rotated',
    'run_benchmark', 'run_worker', 'sdpa_recompute_flops', 'summarize',
    'summary_title', 'synthetic_batch', 'threads_problem', 'timed',
    'usable_cores', 'utilisation', 'WorkerError', 'worker_command',
    'run_passing_stderr'
]
