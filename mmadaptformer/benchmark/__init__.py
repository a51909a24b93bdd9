# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Training speed and memory of AdaptFormer against linear probing and full
fine-tuning (``tools/analysis_tools/benchmark_train.py``)."""
from .inputs import (ADAPTFORMER_TYPES, input_spec, load_config, model_cfg_for,
                     num_classes_of, optim_wrapper_cfg_for, synthetic_batch)
from .measure import PeakMemory, matmul_flops_per_s, measure_mode, timed
from .options import (AMP_DTYPES, DEFAULT_MODES, MODES, REFERENCE_MODE,
                      DefaultsHelpFormatter, parse_args)
from .report import (cpu_info, format_summary, format_table, loadavg, plot,
                     row_name, summarize, summary_title)
from .runner import run_benchmark, run_worker

__all__ = [
    'ADAPTFORMER_TYPES', 'AMP_DTYPES', 'DEFAULT_MODES', 'MODES',
    'REFERENCE_MODE', 'DefaultsHelpFormatter', 'PeakMemory', 'cpu_info',
    'format_summary', 'format_table', 'input_spec', 'load_config', 'loadavg',
    'matmul_flops_per_s', 'measure_mode', 'model_cfg_for', 'num_classes_of',
    'optim_wrapper_cfg_for', 'parse_args', 'plot', 'row_name', 'run_benchmark',
    'run_worker', 'summarize', 'summary_title', 'synthetic_batch', 'timed'
]
