# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Inference speed and memory of an AdaptFormer config: against the stock
model, many tasks in one mixed batch against their models one after the
other, memory per added task and the shared-prefix speed-up.

Random weights, synthetic inputs (one view of the backbone's input size),
one process. Throughputs are in wall-clock time; every ratio is a speed
ratio (above 1: faster), measured side by side in process CPU time
(which sums all threads, so it would understate a throughput on --threads
N up to N times). See the inference
section of docs/benchmark.md. Example::

    python tools/analysis_tools/benchmark_infer.py \\
        configs/benchmark/adaptformer_vits_8x112.py --out infer.json
"""
import argparse
import copy
import os.path as osp
import platform
import sys
import tempfile
import time
from typing import Optional

import torch
from mmengine.logging import MMLogger
from mmengine.registry import MODELS, init_default_scope

import mmadaptformer  # noqa: F401  (registers modules, closes gaps)
from mmadaptformer.apis.benchmark import (benchmark_inference,
                                          check_adaptformer_cfg)
from mmadaptformer.apis.benchmark_table import format_table
from mmadaptformer.apis.prefix_layers import DEFAULT_PREFIX_BLOCKS
from mmadaptformer.benchmark import (DefaultsHelpFormatter, count_problem,
                                     cpu_info, use_threads)
from mmadaptformer.benchmark.cli import (load_model_config, refuse_bad_paths,
                                         write_json)
from mmadaptformer.engine import refusals_exit
from mmadaptformer.engine.plan_argument_place import naming_plan_arguments
from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.cfg_options import add_cfg_options
from mmadaptformer.utils.closed_pipe import exit_quietly_on_closed_pipe
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.log_streams import results_only_stdout
from mmadaptformer.utils.stop_signals import exit_on_stop


def build_parser():
    parser = argparse.ArgumentParser(
        prog=osp.basename(__file__),
        formatter_class=DefaultsHelpFormatter,
        description='Benchmark AdaptFormer inference, one or many tasks.')
    parser.add_argument(
        'config', help='an AdaptFormer config with an '
        'AdapterHook')
    parser.add_argument(
        '--batch-size', type=int, default=2, help='inputs per forward')
    parser.add_argument(
        '--tasks',
        type=int,
        nargs='+',
        default=[1, 2, 4, 8],
        help='task counts of the mixed batches')
    parser.add_argument(
        '--prefix-layers',
        type=int,
        nargs='+',
        help='adapted blocks of the shared-prefix row (default: the last '
        f'min({DEFAULT_PREFIX_BLOCKS}, N - 1) of the model\'s N adaptable '
        'blocks, at least 1, so that at least the first block is shared)')
    parser.add_argument(
        '--prefix-tasks',
        type=int,
        default=4,
        help='tasks of the shared-prefix row')
    parser.add_argument(
        '--repeat', type=int, default=3, help='timed calls per variant')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed calls first')
    parser.add_argument('--threads', type=int, default=1, help='torch threads')
    parser.add_argument(
        '--work-dir',
        help='where the task checkpoints go '
        '(default: a temporary folder)')
    parser.add_argument('--out', help='write the results to this JSON file')
    add_cfg_options(parser)
    return parser


#: The least value of each count option (refused in the words of
#: benchmark_train.py's, :func:`~mmadaptformer.benchmark.count_problem`).
LEAST_VALUES = dict(
    batch_size=(1, None),
    tasks=(1, None),
    prefix_tasks=(1, None),
    repeat=(1, None),
    warmup=(0, None),
    threads=(1, None))


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = count_problem(args, LEAST_VALUES)
    if problem:
        parser.error(problem)
    refuse_bad_paths(parser, args.config, [(args.out, '--out')],
                     args.cfg_options)
    return args


def prefix_layers_problem(cfg, layers) -> Optional[str]:
    """Why the AdaptFormer of ``cfg`` cannot take adapters in the blocks
    ``layers`` (``--prefix-layers``), or None if it can: the wrapper is
    built with them (random weights; the host's are not loaded at build
    time), as the shared-prefix row builds it, before anything is timed.

    Only this refusal is a usage error (exit status 2); a refusal of the
    model itself ends as in tools/test.py (exit status 1).

    It is built on the meta device where the host's constructor allows:
    which blocks the wrapper can adapt depends on the host's blocks, not on
    their weights (the ViT-B of the image recipes: 0.02 s there, 0.4 s on
    the CPU, which the shared-prefix row builds again).
    """
    wrapper = copy.deepcopy(cfg.model.backbone)
    wrapper.layers = list(layers)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    for device in ('meta', 'cpu'):
        try:
            with torch.device(device):
                MODELS.build(copy.deepcopy(wrapper))
            return None
        except ConfigError as e:
            return (f'prefix_layers={list(layers)} (the adapted blocks of '
                    f'the shared-prefix row): {e}')
        except Exception:
            # mmaction2's ViT reads its drop-path rates with .item(), which
            # a meta tensor refuses: the CPU's build says what is wrong.
            if device == 'cpu':
                raise


def _progress(message: str) -> None:
    """A progress line, on stderr: stdout holds the tables alone."""
    print(message, file=sys.stderr, flush=True)


#: What a stopped run leaves.
STOPPED = ('its temporary folder of checkpoints was removed (a --work-dir '
           'keeps what was written in it); no table was printed and no --out '
           'written')


def main(argv=None) -> dict:
    # Stopped (Ctrl-C, SIGTERM, SIGHUP), the temporary folder of
    # checkpoints goes and the tool ends with one line
    # (mmadaptformer.utils.stop_signals).
    return exit_quietly_on_closed_pipe(lambda: exit_on_stop(
        'benchmark_infer.py', lambda: _main(argv), STOPPED))


def _main(argv) -> dict:
    args = parse_args(argv)
    with results_only_stdout():  # a warning, not a line of the table
        use_threads(args.threads)
    cfg = load_model_config(build_parser(), args.config, args.cfg_options)
    try:
        check_adaptformer_cfg(cfg, 'this tool')
    except ConfigError as e:
        build_parser().error(f'config {args.config}: {e}')
    # An argument mmaction2's ViT would drop, the wrapper's own refusals, a
    # head width the backbone does not give: one line naming the file or
    # option and the key, exit status 1, as train.py and test.py check the
    # model before they build anything. The weights are random: no
    # pretrained file is needed.
    with refusals_exit(), naming_config_mistakes(cfg, args.config,
                                                 args.cfg_options):
        check_model_config(
            cfg, args.config, args.cfg_options, pretrained=False)
    # MMEngine's build messages and per-tensor init reports of every task
    # model would bury the table (as merge_adapters.py keeps them off).
    MMLogger.get_instance(
        f'benchmark_infer_{time.time_ns()}', log_level='WARNING')
    # A type no registry holds, an argument a class does not take (from
    # --cfg-options too) or a refusal of the model's build (an AdapterHook
    # pattern that matches nothing) ends with one line naming the key,
    # exit 1, as in train.py and test.py, not with a traceback from the
    # model's build or a usage error.
    with tempfile.TemporaryDirectory() as tmp, refusals_exit(), \
            naming_config_mistakes(cfg, args.config, args.cfg_options):
        if args.prefix_layers is not None:
            problem = prefix_layers_problem(cfg, args.prefix_layers)
            if problem is not None:
                build_parser().error(f'config {args.config}: {problem}')
        # Without --prefix-layers, benchmark_inference chooses the default
        # blocks from the host it builds once for the table's block
        # numbers (resolving them here built the host a second time).
        with naming_plan_arguments(cfg, args.config, args.cfg_options):
            result = benchmark_inference(
                cfg,
                args.work_dir or tmp,
                batch_size=args.batch_size,
                num_tasks=args.tasks,
                prefix_layers=args.prefix_layers,
                prefix_tasks=args.prefix_tasks,
                repeat=args.repeat,
                warmup=args.warmup,
                log=_progress,
                prefix_layers_option='--prefix-layers')
    prefix_source = result['shared_prefix']['layers_source']
    result['cpu'] = cpu_info()['cpu'] or platform.processor() or 'unknown CPU'
    result['config'] = args.config
    print(format_table(result, result['cpu']))
    print(f'Shared-prefix blocks: {prefix_source}.')
    if args.out:
        write_json(result, args.out)
    return result


if __name__ == '__main__':
    main()
