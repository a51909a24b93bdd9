# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What loading tasks onto a :class:`MultiTaskRecognizer` costs: process CPU
time and peak resident memory (above the process before it) of ``add_task``
for N tasks.

A stock backbone with random weights is written as the pretrained file and
every task is a real adapter-only checkpoint trained on it (random adapters
and head, saved as the ``AdapterHook`` saves them), so nothing is
downloaded. Each N runs in a fresh process (``--in-process`` runs them in
this one), so one peak does not hide another; the peak is the resident
memory above the process's memory before the first ``add_task`` (libraries
imported, an empty engine): what the N tasks add to a server process, not
its whole size. Process
CPU time, not wall time: a busy neighbour on a shared machine does not
count. Example::

    python tools/analysis_tools/benchmark_add_task.py \\
        configs/adaptformer_vitb_ssv2.py --tasks 1 2 4 8
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import tempfile
import time

from mmengine.logging import MMLogger
from mmengine.registry import HOOKS, MODELS

import mmadaptformer  # noqa: F401  (registers modules, closes gaps)
from mmadaptformer.apis.benchmark import check_adaptformer_cfg, write_tasks
from mmadaptformer.benchmark import (DefaultsHelpFormatter, WorkerError,
                                     count_problem, cpu_info,
                                     run_passing_stderr, use_threads,
                                     worker_command)
from mmadaptformer.benchmark.add_task_worker import TASKS_FILE, measure
from mmadaptformer.benchmark.cli import (load_model_config, refuse_bad_paths,
                                         write_json)
from mmadaptformer.engine import check_adapter_hook_config, refusals_exit
from mmadaptformer.engine.plan_argument_place import naming_plan_arguments
from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.cfg_options import add_cfg_options
from mmadaptformer.utils.closed_pipe import exit_quietly_on_closed_pipe
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.log_streams import results_only_stdout
from mmadaptformer.utils.registry_names import registered
from mmadaptformer.utils.stop_signals import exit_on_stop


def build_parser():
    parser = argparse.ArgumentParser(
        prog=osp.basename(__file__),
        formatter_class=DefaultsHelpFormatter,
        description='Benchmark MultiTaskRecognizer.add_task: CPU time and '
        'peak memory of loading N adapter-only tasks.')
    parser.add_argument(
        'config', help='an AdaptFormer config with an AdapterHook')
    parser.add_argument(
        '--tasks',
        type=int,
        nargs='+',
        default=[1, 2, 4, 8],
        help='numbers of tasks to load')
    parser.add_argument('--threads', type=int, default=1, help='torch threads')
    parser.add_argument(
        '--in-process',
        action='store_true',
        help='measure in this process instead of a fresh one per N')
    parser.add_argument(
        '--work-dir',
        help='where the pretrained file and task checkpoints go '
        '(default: a temporary folder)')
    parser.add_argument('--out', help='write the results to this JSON file')
    add_cfg_options(parser)
    return parser


#: The least value of each count option (refused in the words of
#: benchmark_train.py's, :func:`~mmadaptformer.benchmark.count_problem`).
LEAST_VALUES = dict(tasks=(1, None), threads=(1, None))


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = count_problem(args, LEAST_VALUES)
    if problem:
        parser.error(problem)
    refuse_bad_paths(parser, args.config, [(args.out, '--out')],
                     args.cfg_options)
    return args


def _measure_in_subprocess(work_dir: str, num: int, threads: int) -> dict:
    """:func:`measure` of ``num`` tasks in a fresh process, which imports
    the ``mmadaptformer`` this one imported (:func:`worker_command`).

    Its stderr (its warnings, or its traceback) is passed on to this
    process's stderr line by line while it runs.

    Raises:
        WorkerError: If the process fails (the kernel's out-of-memory
            killer ends it with SIGKILL where the tasks do not fit); its
            output has been written to stderr.
    """
    proc = run_passing_stderr(
        worker_command('mmadaptformer.benchmark.add_task_worker') + [
            '--work-dir', work_dir, '--tasks',
            str(num), '--threads',
            str(threads)
        ])
    if proc.returncode != 0:
        raise WorkerError(f'{num}-task', proc.returncode, proc.stderr,
                          'give fewer --tasks')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def format_table(result: dict) -> str:
    """A markdown table of :func:`main`'s result. Sizes are in MiB
    (2**20 bytes), as the JSON's ``*_mb`` keys hold them."""
    lines = [
        f'CPU: {result["cpu"]}; {result["threads"]} thread(s); process CPU '
        'time; peak RSS above the process before the first add_task '
        '(libraries imported, empty engine); pretrained file '
        f'{result["pretrained_mb"]:.1f} MiB, task checkpoint '
        f'{result["checkpoint_mb"]:.2f} MiB.', '',
        '| tasks | add_task CPU s (total) | CPU s per task | peak RSS above '
        'pre-add_task MiB | tensors held MiB |',
        '| --- | --- | --- | --- | --- |'
    ]
    for row in result['rows']:
        per = ', '.join(f'{t:.2f}' for t in row['cpu_s_per_task'])
        lines.append(f'| {row["tasks"]} | {row["cpu_s"]:.2f} | {per} | '
                     f'{row["peak_rss_mb"]:.0f} | {row["tensor_mb"]:.1f} |')
    return '\n'.join(lines)


def refuse_unregistered_backbone(cfg, source: str, options) -> None:
    """End, as train.py and test.py end (exit status 1, the registry's
    line naming the key), on a ``model.backbone`` type that no registry
    holds: a misspelled ``AdaptFormr`` is a mistake of the config, not
    another backbone this tool does not measure (a usage error).

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file.
        options (dict, optional): The ``--cfg-options`` given.
    """
    backbone = cfg.model.get('backbone')
    if not isinstance(backbone, dict) or registered(
            MODELS, backbone.get('type'), backbone.get('_scope_')) is not None:
        return
    # MMEngine's KeyError of the miss, named by naming_config_mistakes;
    # nothing is built.
    with refusals_exit(), naming_config_mistakes(cfg, source, options):
        MODELS.build(dict(backbone))


def refuse_unregistered_hooks(cfg, source: str, options) -> None:
    """End, as train.py and test.py end (exit status 1, the registry's
    line naming the key), on a ``custom_hooks`` type that no registry
    holds: a misspelled ``AdapterHok`` is a mistake of the config, not a
    config without an AdapterHook (a usage error).

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file.
        options (dict, optional): The ``--cfg-options`` given.
    """
    hooks = cfg.get('custom_hooks')
    if not isinstance(hooks, (list, tuple)):
        return
    for hook in hooks:
        if not isinstance(hook, dict) or 'type' not in hook or registered(
                HOOKS, hook['type'], hook.get('_scope_')) is not None:
            continue
        # MMEngine's KeyError of the miss, named by naming_config_mistakes;
        # nothing is built.
        with refusals_exit(), naming_config_mistakes(cfg, source, options):
            HOOKS.build(dict(hook))


#: What a stopped run leaves.
STOPPED = ('its worker process was stopped and its temporary folder of '
           'checkpoints removed (a --work-dir keeps what was written in it); '
           'no table was printed and no --out written')


def main(argv=None) -> dict:
    # Stopped (Ctrl-C, SIGTERM, SIGHUP), the temporary folder of
    # checkpoints goes and the tool ends with one line
    # (mmadaptformer.utils.stop_signals).
    return exit_quietly_on_closed_pipe(lambda: exit_on_stop(
        'benchmark_add_task.py', lambda: _measure(argv), STOPPED))


def _measure(argv) -> dict:
    """:func:`_main`; a failed worker ends the tool with one line (its
    output is on stderr already), as in benchmark_train.py, not with a
    ``CalledProcessError`` traceback."""
    try:
        return _main(argv)
    except WorkerError as exc:
        raise SystemExit(f'benchmark_add_task.py: {exc}') from None


def _main(argv) -> dict:
    args = parse_args(argv)
    with results_only_stdout():  # a warning, not a line of the table
        use_threads(args.threads)
    # MMEngine's build messages and per-tensor init reports of every task
    # model would bury the table (as merge_adapters.py keeps them off).
    MMLogger.get_instance(
        f'benchmark_add_task_{time.time_ns()}', log_level='WARNING')
    cfg = load_model_config(build_parser(), args.config, args.cfg_options)
    # An argument mmaction2's ViT would drop, the wrapper's own refusals, a
    # head width the backbone does not give, an AdapterHook argument its
    # trainable plan refuses (a pattern that matches no parameter): one
    # line naming the file or option and the key, exit status 1, as
    # train.py and test.py check the model before they build anything. The
    # weights are random: no pretrained file is needed. Before the refusal
    # of a config this tool does not measure (a usage error), which took a
    # misspelled backbone type (AdaptFormr) or a backbone that is no dict
    # for another backbone.
    with refusals_exit(), naming_config_mistakes(cfg, args.config,
                                                 args.cfg_options):
        model = check_model_config(
            cfg,
            args.config,
            args.cfg_options,
            pretrained=False,
            whole_model=True)
        check_adapter_hook_config(cfg, args.config, args.cfg_options, model)
        del model  # not kept through the measurement
    try:
        # Its only refusals: no AdaptFormer backbone, or no AdapterHook.
        check_adaptformer_cfg(cfg, 'this tool')
    except ConfigError as e:
        refuse_unregistered_backbone(cfg, args.config, args.cfg_options)
        refuse_unregistered_hooks(cfg, args.config, args.cfg_options)
        build_parser().error(f'config {args.config}: {e}')
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = args.work_dir or tmp
        os.makedirs(work_dir, exist_ok=True)
        # A type no registry holds or an argument a class does not take
        # (from --cfg-options too) ends with one line naming the key, exit
        # 1, as in train.py and test.py, not with a traceback from the
        # model's build; the plan's refusal names the AdapterHook argument
        # as get_flops.py and benchmark_infer.py name it.
        with refusals_exit(), naming_config_mistakes(
                cfg, args.config, args.cfg_options), naming_plan_arguments(
                    cfg, args.config, args.cfg_options):
            tasks = write_tasks(cfg, work_dir, max(args.tasks))
        with open(osp.join(work_dir, TASKS_FILE), 'w') as f:
            json.dump(tasks, f)
        rows = []
        for num in args.tasks:
            # Progress on stderr: stdout holds the table alone.
            print(f'{num} task(s) ...', file=sys.stderr, flush=True)
            rows.append(
                measure(tasks, num) if args.in_process else
                _measure_in_subprocess(work_dir, num, args.threads))
        result = dict(
            config=args.config,
            cpu=cpu_info()['cpu'] or platform.processor() or 'unknown CPU',
            threads=args.threads,
            pretrained_mb=osp.getsize(osp.join(work_dir, 'stock.pth')) / 2**20,
            checkpoint_mb=osp.getsize(tasks[0]['checkpoint']) / 2**20,
            rows=rows)
    print(format_table(result))
    if args.out:
        write_json(result, args.out)
    return result


if __name__ == '__main__':
    main()
