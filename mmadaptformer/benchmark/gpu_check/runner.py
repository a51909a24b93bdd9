# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run the GPU checks, each in a fresh process with a time limit, and
write ``gpu_check.json`` and ``summary.txt`` after every check, so a run
cut short still leaves its results."""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import List, Optional

import torch

from ...utils.output_folder import output_folder_problem
from ...utils.stop_signals import Stopped
from ..cli import load_model_config
from ..cuda_api import check_cuda_apis, cuda_api, device_name, tf32_flags
from ..options import DefaultsHelpFormatter, check_counts, parse_peak_tflops
from ..worker_process import worker_command
from .checks import CHECKS
from .commands import stop_process_group
from .goals import DATASHEET_PEAK_TFLOPS
from .report import GpuCheckReport, record_stop
from .workspace import REPO_ROOT, TINY_CONFIGS, prepare_workspace

SPEED_DEFAULTS = dict(
    cuda=dict(
        config=osp.join(REPO_ROOT, 'configs', 'adaptformer_vitb_ssv2.py'),
        batch_size=16,
        amp=['bf16', 'fp16'],
        iters=8,
        warmup=3,
        matmul_size=None),
    cpu=dict(
        config=TINY_CONFIGS['video'],
        batch_size=2,
        amp=['bf16'],
        iters=2,
        warmup=1,
        matmul_size=256))


class GpuCheckError(RuntimeError):
    """The run cannot start on this machine (its torch lacks a name the
    GPU checks use); the message names what is missing, and
    ``gpu_check.json`` records it (``status: error``)."""


SPEED_MODES = ['adaptformer', 'full_ft', 'linear_probe', 'adaptformer_plain']
NOT_RUN = ('not_run', 'timeout', 'error', 'failed')


def parse_gpu_check_args(
        argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse ``tools/gpu_check.sh``'s options.

    Args:
        argv (list[str], optional): Without the program name. Defaults to
            None, i.e. ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        prog='gpu_check.sh',
        formatter_class=DefaultsHelpFormatter,
        description='Run every GPU path of mmadaptformer once (AMP '
        'training, adapter-only resume and test, nccl DDP, fused '
        'attention, inference, speed against full fine-tuning and the '
        'official code) and write gpu_check.json and summary.txt')
    parser.add_argument(
        '--out-dir',
        default=osp.join('work_dirs', 'gpu_check'),
        help='where results, logs and work dirs go')
    parser.add_argument(
        '--device',
        choices=['auto', 'cuda', 'cpu'],
        default='auto',
        help='auto: cuda, or say that there is no GPU and exit 0; cpu: run '
        'what runs on a CPU, at tiny sizes (float16 and nccl skipped)')
    parser.add_argument(
        '--checks',
        nargs='+',
        choices=list(CHECKS),
        help='run only these (default: all)')
    parser.add_argument(
        '--budget',
        type=float,
        default=480,
        help='seconds for all checks; a check that would start after it '
        'is recorded as not run')
    parser.add_argument(
        '--timeout',
        nargs='+',
        default=[],
        metavar='CHECK=SECONDS',
        help='override the time limit of checks')
    parser.add_argument(
        '--jobs',
        type=int,
        help='checks of the first phase run in parallel (default: 6 on a '
        'GPU, 1 on a CPU); speed checks always run alone')
    parser.add_argument(
        '--official',
        help='a checkout of https://github.com/ShoufaChen/AdaptFormer for '
        'the baseline row (default: the plain-PyTorch reproduction)')
    parser.add_argument(
        '--speed-config',
        help='config of the speed checks (default: '
        'configs/adaptformer_vitb_ssv2.py on a GPU, the tiny AdaptFormer '
        'video config on a CPU)')
    parser.add_argument(
        '--batch-size', type=int, help='of the speed checks (16 on a GPU)')
    parser.add_argument('--num-frames', type=int, help='of the speed checks')
    parser.add_argument(
        '--img-size', type=int, nargs='+', help='of the speed checks')
    parser.add_argument(
        '--iters', type=int, help='measured steps per speed row')
    parser.add_argument('--warmup', type=int, help='steps before those')
    parser.add_argument(
        '--amp',
        nargs='+',
        choices=['none', 'bf16', 'fp16'],
        help='autocast of the benchmark rows (default: bf16 fp16 on a GPU)')
    parser.add_argument(
        '--matmul-size', type=int, help='the MFU reference matmul')
    parser.add_argument(
        '--peak-tflops',
        nargs='+',
        metavar='AMP=TFLOPS',
        help='the GPU\'s dense (no sparsity) datasheet peak per autocast '
        'dtype, e.g. --peak-tflops bf16=989 fp16=989, for MFU on a GPU '
        'whose peak the check does not know (it knows '
        f'{", ".join(DATASHEET_PEAK_TFLOPS)}); replaces the known one')
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda, but torch.cuda.is_available() is False '
                     'on this machine: leave --device out (auto) to be told '
                     'so with exit status 0, or give --device cpu to run the '
                     'checks that run on a CPU')
    # Else a folder that cannot be made ends the run with a traceback.
    problem = output_folder_problem(args.out_dir, '--out-dir')
    if problem:
        parser.error(problem)
    args.peak_tflops = parse_peak_tflops(parser, args.peak_tflops)
    timeouts = {}
    for item in args.timeout:
        name, _, seconds = item.partition('=')
        if name not in CHECKS or not seconds.replace('.', '', 1).isdigit():
            parser.error(f'--timeout takes CHECK=SECONDS with CHECK one of '
                         f'{list(CHECKS)}, got {item!r}')
        timeouts[name] = float(seconds)
    args.timeout = timeouts
    if args.jobs is not None and args.jobs < 1:
        parser.error(f'--jobs must be >= 1, got {args.jobs}')
    # The speed sizes benchmark_train.py refuses, refused now: else every
    # correctness check runs first and the speed checks fail at the end of
    # a GPU slot.
    check_counts(parser, args)
    if args.speed_config:
        # Read now, as the speed checks will read it: else a config that
        # does not load is found after every correctness check has run.
        load_model_config(parser, args.speed_config)
    return args


def build_context(args: argparse.Namespace, device: str,
                  workspace: dict) -> dict:
    """The context every check gets (JSON-serialisable).

    Args:
        args (argparse.Namespace): :func:`parse_gpu_check_args`'s result.
        device (str): ``'cuda'`` or ``'cpu'``.
        workspace (dict): :func:`prepare_workspace`'s paths.

    Returns:
        dict: ``device``, ``out_dir``, ``workspace``, ``amp_dtypes``,
        ``fused_config``, ``speed``, ``official``, ``peak_tflops`` (the
        user's, empty if none given). No ``port``: the ``dist_train`` check
        takes a free one when it runs, minutes after this, when a port free
        now may be another job's; a context written by hand may name one.
    """
    speed = dict(SPEED_DEFAULTS[device], modes=list(SPEED_MODES))
    for key in ('batch_size', 'num_frames', 'img_size', 'iters', 'warmup',
                'amp', 'matmul_size'):
        if getattr(args, key) is not None:
            speed[key] = getattr(args, key)
    if args.speed_config:
        speed['config'] = osp.abspath(args.speed_config)
    return dict(
        device=device,
        out_dir=osp.abspath(args.out_dir),
        workspace=workspace,
        amp_dtypes=['float16', 'bfloat16'],
        fused_config=speed['config']
        if device == 'cuda' else workspace['video_config'],
        speed=speed,
        official=osp.abspath(args.official) if args.official else None,
        peak_tflops=dict(args.peak_tflops))


def _environment(device: str) -> dict:
    return dict(
        device=device,
        gpu=device_name(device) if device == 'cuda' else None,
        torch=torch.__version__,
        cuda=cuda_api('cuda_version'),
        # PyTorch's defaults: TF32 in cuDNN convolutions (the patch
        # embedding), not in matmuls; float32 comparisons on a GPU are
        # read against these.
        tf32=tf32_flags(),
        python=sys.version.split()[0],
        date=time.strftime('%Y-%m-%d %H:%M:%S %Z'))


def _run_phase(names: List[str], jobs: int, ctx_path: str, out_dir: str,
               timeouts: dict, deadline: float,
               report: GpuCheckReport) -> None:
    pending, running = list(names), {}
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    try:
        while pending or running:
            while pending and len(running) < jobs:
                name = pending.pop(0)
                left = deadline - time.time()
                if left < 10:
                    report.data['checks'][name] = dict(
                        status='not_run',
                        reason=f'the time budget was used up ({left:.0f} s '
                        'left)')
                    report.write()
                    continue
                limit = min(timeouts.get(name, CHECKS[name][2]), left)
                result = osp.join(out_dir, 'results', f'{name}.json')
                log = open(osp.join(out_dir, 'logs', f'{name}.log'), 'w')
                # This package's worker, whatever the working directory
                # holds (worker_command).
                proc = subprocess.Popen(
                    worker_command('mmadaptformer.benchmark.gpu_check.worker')
                    + [name, ctx_path, result],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True)
                running[name] = (proc, log, time.time(), limit, result)
                report.data['checks'][name] = dict(status='running')
                report.write()
            time.sleep(0.5)
            for name, (proc, log, start, limit,
                       result) in list(running.items()):
                elapsed = time.time() - start
                if proc.poll() is None and elapsed <= limit:
                    continue
                if proc.poll() is None:
                    stop_process_group(proc)
                    outcome = dict(
                        status='timeout',
                        reason=f'stopped after its limit of {limit:.0f} s')
                elif osp.isfile(result):
                    with open(result) as f:
                        outcome = json.load(f)
                else:
                    outcome = dict(
                        status='error',
                        reason=f'the check process exited {proc.returncode} '
                        'without a result')
                log.close()
                if outcome['status'] in ('error', 'timeout', 'failed'):
                    with open(log.name) as f:
                        outcome['log_tail'] = f.read()[-3000:]
                outcome.setdefault('seconds', elapsed)
                # The check's own time leaves out its process's start-up
                # and imports (about 9 s on a CPU); the budget counts both.
                outcome['wall_seconds'] = elapsed
                outcome['log'] = log.name
                report.data['checks'][name] = outcome
                report.write()
                del running[name]
    finally:
        # Interrupted (e.g. Ctrl-C): no check outlives the runner.
        for proc, log, *_ in running.values():
            stop_process_group(proc)
            log.close()


def run_gpu_check(argv: Optional[List[str]] = None) -> dict:
    """Run the checks of ``argv`` (see :func:`parse_gpu_check_args`).

    Without a GPU and with ``--device auto`` nothing runs: the result says
    so (``status: no_gpu``).

    Args:
        argv (list[str], optional): The command line. Defaults to None,
            i.e. ``sys.argv[1:]``.

    Returns:
        dict: What ``gpu_check.json`` holds.

    Raises:
        GpuCheckError: If this machine's torch lacks a name the GPU checks
            use (recorded in ``gpu_check.json`` first).
    """
    args = parse_gpu_check_args(argv)
    started = time.time()
    device = args.device
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else None
    os.makedirs(args.out_dir, exist_ok=True)
    report = GpuCheckReport(
        args.out_dir,
        dict(
            _environment(device or 'none'),
            status='running',
            budget_s=args.budget,
            command=' '.join(['tools/gpu_check.sh'] +
                             (sys.argv[1:] if argv is None else argv))))
    if device is None:
        report.data.update(
            status='no_gpu',
            reason='no CUDA GPU on this machine (torch.cuda.is_available() '
            'is False); nothing was checked. `--device cpu` runs the '
            'checks that run on a CPU.')
        report.write()
        return report.data
    # Only a run that checks something has logs, results and work.
    for sub in ('logs', 'results', 'work'):
        os.makedirs(osp.join(args.out_dir, sub), exist_ok=True)

    # This machine's own torch may lack a name the GPU branches use: say
    # so now, not after minutes of checks.
    apis = report.data['torch_apis'] = check_cuda_apis()
    if apis['missing']:
        report.data.update(
            status='error',
            reason=f'torch {apis["torch"]} lacks names the GPU checks use '
            f'(mmadaptformer.benchmark.cuda_api): {apis["missing"]}')
        report.write()
        raise GpuCheckError(report.data['reason'])
    names = args.checks or list(CHECKS)
    # Written now: a stop while the workspace and the context are made
    # leaves this run's record (interrupted), not an earlier run's.
    report.write()
    try:
        try:
            workspace = prepare_workspace(osp.join(args.out_dir, 'workspace'))
        except Exception as e:
            report.data.update(status='error', reason=f'workspace: {e!r}')
            report.write()
            raise
        ctx = build_context(args, device, workspace)
        report.data['context'] = ctx
        ctx_path = osp.join(args.out_dir, 'context.json')
        with open(ctx_path, 'w') as f:
            json.dump(ctx, f, indent=2)
        deadline = started + args.budget
        jobs = args.jobs or (6 if device == 'cuda' else 1)
        for phase in (1, 2, 3):
            phase_names = [
                n for n in CHECKS if n in names and CHECKS[n][0] == phase
            ]
            _run_phase(phase_names, jobs if phase == 1 else 1, ctx_path,
                       args.out_dir, args.timeout, deadline, report)
    except (KeyboardInterrupt, Stopped) as exc:
        # _run_phase has stopped the running checks and their tools.
        record_stop(report, exc, time.time() - started)
        raise
    statuses = [r['status'] for r in report.data['checks'].values()]
    report.data['status'] = 'complete' if not any(
        s in ('not_run', 'timeout') for s in statuses) else 'partial'
    report.data['elapsed_s'] = time.time() - started
    report.write()
    return report.data
