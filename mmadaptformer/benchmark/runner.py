# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The training benchmark's rounds: one reference matmul per autocast dtype
and every mode in a fresh process, the order rotating from round to round;
then the summary, table, JSON and plot."""
import json
import os.path as osp
import re
import signal
import sys
import tempfile
import time
from typing import List, Optional, Sequence

from mmengine.logging import print_log

from ..utils.config_error import ConfigError
from .cli import write_json
from .input_check import input_size_problem
from .inputs import input_spec, load_config
from .machine import cpu_info, loadavg
from .options import build_parser, config_batch_size_problem, parse_args
from .report import RATIO_MEANING, plot, row_name, summarize, summary_title
from .threads import use_threads
from .utilisation import measure_matmul, utilisation
from .worker_process import REFUSAL_KEY, run_passing_stderr, worker_command


def _refusal_in(out: str) -> Optional[str]:
    """The message of the ConfigError a failed worker wrote to ``out``
    (:data:`REFUSAL_KEY`); None if it wrote none (it failed otherwise)."""
    if not osp.isfile(out):
        return None
    try:
        with open(out) as f:
            written = json.load(f)
    except ValueError:  # cut short: the RuntimeError shows the output
        return None
    return written.get(REFUSAL_KEY) if isinstance(written, dict) else None


class WorkerError(RuntimeError):
    """A mode's worker process failed otherwise than on a config mistake.

    Its message is one line: the row, the exit status or signal, the
    worker's last line (its error), and what to try where memory ran out.

    Args:
        row (str): The row, e.g. ``'adaptformer@bf16'``.
        returncode (int): The worker's exit status (negative: the signal
            that ended it).
        output (str): What the worker printed (the end of it is kept in
            :attr:`output`, for its traceback).
        advice (str, optional): What to try where memory ran out. Defaults
            to None, i.e. :attr:`MEMORY_ADVICE` (the training benchmark's).
    """

    #: What to try when a worker ran out of memory.
    MEMORY_ADVICE = ('give a smaller --batch-size (or --num-frames, '
                     '--img-size)')

    def __init__(self,
                 row: str,
                 returncode: int,
                 output: str,
                 advice: Optional[str] = None) -> None:
        advice = advice or self.MEMORY_ADVICE
        self.output = output[-4000:]
        lines = [line for line in output.splitlines() if line.strip()]
        last = lines[-1].strip() if lines else 'it printed nothing'
        if returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:  # a real-time signal has no name
                name = f'signal {-returncode}'
            how = f'was killed by {name}'
            if -returncode == signal.SIGKILL:
                how += (', as the kernel ends a process when memory runs '
                        f'out: if it did, {advice}')
        else:
            how = f'exited {returncode}: {last}'
            if re.search(r"out of memory|can't allocate memory", last, re.I):
                how += f'; {advice}'
        super().__init__(f'the {row} row failed: its worker process {how}')


def run_worker(argv: List[str], mode: str, amp: str) -> dict:
    """Measure ``mode`` under ``amp`` in a fresh Python process, which
    imports this package whatever the working directory holds
    (:func:`worker_command`).

    Its stderr (its warnings, or its traceback) is passed on to this
    process's stderr line by line while it runs
    (:func:`run_passing_stderr`); its stdout is kept for a
    :class:`WorkerError`.

    Args:
        argv (list[str]): The benchmark's command line.
        mode (str): One of :data:`MODES`.
        amp (str): ``'none'``, ``'bf16'`` or ``'fp16'``.

    Returns:
        dict: :func:`measure_mode`'s result.

    Raises:
        ConfigError: The worker's, with its message (the file or option
            and the key of a config mistake met while it built the model
            or the optimizer), for the tool to end with on one line.
        WorkerError: If the process fails otherwise (a
            ``RuntimeError``); its ``output`` is the end of what the
            process printed (its stdout, then its stderr, which was
            shown as it came).
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result.json')
        cmd = worker_command('mmadaptformer.benchmark.worker') + argv + [
            '--worker', mode, '--worker-amp', amp, '--worker-out', out
        ]
        proc = run_passing_stderr(cmd)
        if proc.returncode != 0:
            refusal = _refusal_in(out)
            if refusal is not None:
                raise ConfigError(refusal)
            # stderr last: its last line is the worker's error.
            raise WorkerError(
                row_name(mode, amp), proc.returncode,
                proc.stdout + proc.stderr)
        with open(out) as f:
            return json.load(f)


def rotated(items: Sequence, i: int) -> list:
    """``items`` starting at its ``i``-th (modulo its length): the order
    of round ``i`` (from 0), so that the same mode does not always run
    first, or last, in every round."""
    i %= len(items)
    return list(items[i:]) + list(items[:i])


def run_benchmark(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark of ``argv``: log progress, write the JSON
    (``--out``) and the plot (``--plot``). :func:`format_summary` gives
    the tables of the result.

    Each round measures, for each autocast dtype, the reference matmul
    (:func:`measure_matmul`, in this process, its side chosen in the first
    round and kept) and then every mode, each in a fresh process; every row
    of the round and dtype is divided by that one rate. Round ``i`` runs
    the dtypes and the modes in :func:`rotated` order.

    Args:
        argv (list[str], optional): The command line of
            ``tools/analysis_tools/benchmark_train.py``, without the program
            name. Defaults to None, i.e. ``sys.argv[1:]``.

    Returns:
        dict: What ``--out`` holds: settings, machine, rows, ratios to full
        fine-tuning (time ratios for the step: below 1 is faster),
        autocast speed-ups (speed ratios: above 1 is faster), what each
        ratio divides (``ratio_meaning``), the reference matmuls and the
        order of each round.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = parse_args(argv)
    cfg = load_config(args)
    if args.batch_size is None:
        loader = cfg.get('train_dataloader') or {}
        problem = config_batch_size_problem(args.config,
                                            loader.get('batch_size'))
        if problem:
            build_parser().error(problem)
    spec = input_spec(cfg, args)
    if not isinstance(cfg.get('optim_wrapper'), dict):
        # Else each mode's worker fails on it, with a traceback.
        build_parser().error(
            f'{args.config} has no optim_wrapper dict (optim_wrapper = '
            f'{cfg.get("optim_wrapper")!r}): each mode trains with the '
            "config's optimizer; add one, e.g. optim_wrapper = dict("
            "optimizer=dict(type='SGD', lr=0.01, momentum=0.9)), or inherit "
            'a schedule of configs/_base_/schedules/')
    problem = input_size_problem(cfg, spec)
    if problem:
        # Else each mode's worker fails in the patch embedding's conv.
        build_parser().error(f'{args.config}: {problem}')
    if args.threads:
        use_threads(args.threads)  # as in the workers
    load_before = loadavg()
    rounds, references, orders, sizes = [], [], [], {}
    for i in range(args.repeat):
        runs, references_i, order = {}, {}, []
        for amp in rotated(args.amp, i):
            reference = measure_matmul(args.device, amp,
                                       sizes.get(amp) or args.matmul_size)
            sizes[amp] = reference['matmul_size']
            references_i[amp] = reference
            for mode in rotated(args.modes, i):
                row = row_name(mode, amp)
                order.append(row)
                print_log(
                    f'[round {i + 1}/{args.repeat}] {row} ...',
                    logger='current')
                run = run_worker(argv, mode, amp)
                runs[row] = dict(
                    run, **utilisation(run, reference, args.peak_tflops))
        # Rows in the order of the command line, whatever the round's.
        rounds.append({
            row_name(mode, amp): runs[row_name(mode, amp)]
            for amp in args.amp for mode in args.modes
        })
        references.append(references_i)
        orders.append(order)
    rows, ratios, speedups = summarize(rounds)
    unit = 'clips' if spec['video'] else 'images'
    result = dict(
        config=args.config,
        command=' '.join(
            ['python', 'tools/analysis_tools/benchmark_train.py'] + argv),
        date=time.strftime('%Y-%m-%d %H:%M:%S %Z'),
        machine=dict(
            cpu_info(), loadavg_before=load_before, loadavg_after=loadavg()),
        settings=dict(
            batch_size=spec['batch_size'],
            sample_shape=spec['sample_shape'],
            shape_sources=spec['sources'],
            amp=args.amp,
            fused_attention=not args.no_fused_attn,
            contiguous_tokens=not args.no_contiguous_tokens,
            with_cp=args.with_cp,
            naive_freeze=args.naive_freeze,
            frozen_prefix=not args.no_frozen_prefix,
            threads=args.threads,
            matmul_size=args.matmul_size,
            peak_tflops=args.peak_tflops,
            iters=args.iters,
            warmup=args.warmup,
            repeat=args.repeat,
            unit=unit,
            device=args.device,
            out=args.out,
            plot=args.plot),
        modes=rows,
        ratios_to_full_ft=ratios,
        amp_speedups=speedups,
        ratio_meaning=RATIO_MEANING,
        matmul_references=references,
        round_orders=orders)

    if args.out:
        write_json(result, args.out, indent=2)
    if args.plot:
        plot(rows, ratios, summary_title(result), unit, args.plot)
    return result
