# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Inference speed and memory of an AdaptFormer config: against the stock
model, many tasks in one mixed batch against their models one after the
other, memory per added task and the shared-prefix speed-up.

Random weights, synthetic inputs (one view of the backbone's input size),
one process. Throughputs are in wall-clock time; every ratio is measured
side by side in process CPU time (which sums all threads, so it would
understate a throughput on --threads N up to N times). See the inference
section of docs/benchmark.md. Example::

    python tools/analysis_tools/benchmark_infer.py \\
        configs/benchmark/adaptformer_vits_8x112.py --out infer.json
"""
import argparse
import json
import platform
import sys
import tempfile
import time

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

import mmadaptformer  # noqa: F401  (registers modules, closes gaps)
from mmadaptformer.apis.benchmark import benchmark_inference, format_table
from mmadaptformer.benchmark import DefaultsHelpFormatter, cpu_info
from mmadaptformer.utils import ConfigError, non_negative_int, positive_int
from mmadaptformer.utils.cfg_options import ConfigOptions


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        formatter_class=DefaultsHelpFormatter,
        description='Benchmark AdaptFormer inference, one or many tasks.')
    parser.add_argument(
        'config', help='an AdaptFormer config with an '
        'AdapterHook')
    parser.add_argument(
        '--batch-size',
        type=positive_int,
        default=2,
        help='inputs per forward')
    parser.add_argument(
        '--tasks',
        type=positive_int,
        nargs='+',
        default=[1, 2, 4, 8],
        help='task counts of the mixed batches')
    parser.add_argument(
        '--prefix-layers',
        type=int,
        nargs='+',
        default=[-3, -2, -1],
        help='adapted blocks of the shared-prefix row')
    parser.add_argument(
        '--prefix-tasks',
        type=positive_int,
        default=4,
        help='tasks of the shared-prefix row')
    parser.add_argument(
        '--repeat',
        type=positive_int,
        default=3,
        help='timed calls per variant')
    parser.add_argument(
        '--warmup',
        type=non_negative_int,
        default=1,
        help='untimed calls first')
    parser.add_argument(
        '--threads', type=positive_int, default=1, help='torch threads')
    parser.add_argument(
        '--work-dir',
        help='where the task checkpoints go '
        '(default: a temporary folder)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=ConfigOptions,
        help='KEY=VALUE overrides of the config')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    backbone_type = str((cfg.model.get('backbone') or {}).get('type'))
    if backbone_type.split('.')[-1] != 'AdaptFormer':
        sys.exit(f'error: {args.config}: model.backbone is {backbone_type}, '
                 'but this tool measures AdaptFormer tasks (an AdaptFormer '
                 'config with an AdapterHook).')
    # MMEngine's build messages and per-tensor init reports of every task
    # model would bury the table (as merge_adapters.py keeps them off).
    MMLogger.get_instance(
        f'benchmark_infer_{time.time_ns()}', log_level='WARNING')
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = benchmark_inference(
                cfg,
                args.work_dir or tmp,
                batch_size=args.batch_size,
                num_tasks=args.tasks,
                prefix_layers=args.prefix_layers,
                prefix_tasks=args.prefix_tasks,
                repeat=args.repeat,
                warmup=args.warmup)
        except ConfigError as e:
            sys.exit(f'error: {args.config}: {e}')
    result['cpu'] = cpu_info()['cpu'] or platform.processor() or 'unknown CPU'
    result['config'] = args.config
    print(format_table(result, result['cpu']))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
            f.write('\n')
    return result


if __name__ == '__main__':
    main()
