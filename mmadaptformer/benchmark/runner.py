# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The training benchmark's rounds: every mode in a fresh process, then the
summary, table, JSON and plot."""
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

from mmengine.logging import print_log

from .inputs import input_spec, load_config
from .options import parse_args
from .report import cpu_info, loadavg, plot, row_name, summarize, summary_title


def run_worker(argv: List[str], mode: str, amp: str) -> dict:
    """Measure ``mode`` under ``amp`` in a fresh Python process.

    Args:
        argv (list[str]): The benchmark's command line.
        mode (str): One of :data:`MODES`.
        amp (str): ``'none'``, ``'bf16'`` or ``'fp16'``.

    Returns:
        dict: :func:`measure_mode`'s result.

    Raises:
        RuntimeError: If the process fails; the message ends with its
        output.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result.json')
        cmd = [sys.executable, '-m', 'mmadaptformer.benchmark.worker'
               ] + argv + [
                   '--worker', mode, '--worker-amp', amp, '--worker-out', out
               ]
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'{row_name(mode, amp)} failed (exit code '
                               f'{proc.returncode}):\n{proc.stdout[-4000:]}')
        with open(out) as f:
            return json.load(f)


def run_benchmark(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark of ``argv``: log progress, write the JSON
    (``--out``) and the plot (``--plot``). :func:`format_summary` gives
    the table of the result.

    Args:
        argv (list[str], optional): The command line of
            ``tools/analysis_tools/benchmark_train.py``, without the program
            name. Defaults to None, i.e. ``sys.argv[1:]``.

    Returns:
        dict: What ``--out`` holds: settings, machine, rows, ratios to full
        fine-tuning and autocast speed-ups.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = parse_args(argv)
    cfg = load_config(args)
    spec = input_spec(cfg, args)
    load_before = loadavg()
    rounds = []
    for i in range(args.repeat):
        rounds.append({})
        for amp in args.amp:
            for mode in args.modes:
                row = row_name(mode, amp)
                print_log(
                    f'[round {i + 1}/{args.repeat}] {row} ...',
                    logger='current')
                rounds[-1][row] = run_worker(argv, mode, amp)
    rows, ratios, speedups = summarize(rounds)
    device = next(iter(rows.values()))['device']
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
            iters=args.iters,
            warmup=args.warmup,
            repeat=args.repeat,
            unit=unit,
            device=device,
            out=args.out,
            plot=args.plot),
        modes=rows,
        ratios_to_full_ft=ratios,
        amp_speedups=speedups)

    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
            f.write('\n')
    if args.plot:
        os.makedirs(osp.dirname(osp.abspath(args.plot)), exist_ok=True)
        plot(rows, ratios, summary_title(result), unit, args.plot)
    return result
