# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run every GPU path of the package once and report (issue #15).

Correctness: a tiny AdaptFormer video and image config trained 2 epochs
in float16 and bfloat16 against float32, through the optimizer wrapper
the paper's recipes name and as they get it (on a GPU without ``--amp``;
on a CPU with it); the adapter-only checkpoint resumed and tested; frozen
weights bit-identical after training; ``dist_train.sh CONFIG 1`` over
nccl; fused against eager
attention; inference through ``mmadaptformer.apis`` on the GPU against the
CPU. Speed: ``benchmark_train.py`` of ViT-B/16 8x224^2 batch 16 with the
modes adaptformer, full_ft, linear_probe, adaptformer_plain in bf16 and
fp16, the official AdaptFormer step as a baseline row, and a profile of
the AdaptFormer step. Each check runs in its own process with a time
limit; ``gpu_check.json`` and ``summary.txt`` are rewritten after every
check. Without a GPU it says so and exits 0 (``--device cpu`` runs the
checks at tiny sizes on the CPU).

The checks live in :mod:`mmadaptformer.benchmark.gpu_check`.

Example::

    tools/gpu_check.sh --out-dir work_dirs/gpu_check
"""
import sys

from mmadaptformer.benchmark.gpu_check import (GpuCheckError,
                                               format_gpu_summary,
                                               run_gpu_check)
from mmadaptformer.utils.stop_signals import exit_on_stop

#: What a stopped run leaves.
STOPPED = ('the running checks were stopped with the tools they ran; the '
           'results so far are in gpu_check.json and summary.txt (status: '
           'interrupted)')


def main(argv=None) -> int:
    # Stopped (Ctrl-C, SIGTERM: a scheduler's time limit, SIGHUP: the
    # terminal closed), the runner stops the running checks with the tools
    # they started, records the stop in gpu_check.json and summary.txt,
    # and the tool ends with one line.
    try:
        result = exit_on_stop('gpu_check.sh', lambda: run_gpu_check(argv),
                              STOPPED)
    except GpuCheckError as exc:
        # Recorded in gpu_check.json and summary.txt already.
        print(f'gpu_check.sh: {exc}', file=sys.stderr)
        return 1
    print(format_gpu_summary(result), end='')
    out_dir = result.get('context', {}).get('out_dir')
    if out_dir:
        print(f'results in {out_dir}/gpu_check.json and summary.txt')
    if result['status'] == 'no_gpu':
        return 0
    bad = [
        name for name, r in result['checks'].items()
        if r['status'] in ('failed', 'error', 'timeout', 'not_run')
    ]
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
