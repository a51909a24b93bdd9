# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The training benchmark's summary over rounds, its table and its plot."""
import io
import os
import statistics
from typing import Dict, List, Optional, Tuple

from ..utils.atomic_file import atomic_write
from .options import REFERENCE_MODE

#: Measured in every round: median, min and max over the rounds.
SPREAD_FIELDS = ('step_s', 'train_throughput', 'infer_step_s',
                 'infer_throughput', 'base_mem_mb', 'peak_above_base_mb',
                 'transient_mem_mb', 'abs_peak_mem_mb', 'achieved_flops_per_s',
                 'model_flops_per_s', 'matmul_flops_per_s',
                 'matmul_utilisation', 'hfu', 'mfu')
#: The same, in process CPU time: on the CPU only (on a GPU the host's CPU
#: time says nothing about the step).
CPU_TIME_FIELDS = ('step_cpu_s', 'matmul_flops_per_s_cpu_time',
                   'matmul_utilisation_cpu_time')
#: The same in every round: the first round's value.
FIXED_FIELDS = ('mode', 'amp', 'device', 'gpu', 'tf32_matmul', 'torch',
                'threads', 'adapters_added', 'trainable_params',
                'total_params', 'frozen_params_with_grad', 'static_mem_mb',
                'optim_state_mb', 'grad_mem_mb', 'persistent_mem_mb',
                'peak_mem_kind', 'peak_mem_note', 'step_flops', 'model_flops',
                'sdpa_recompute_flops', 'sdpa_backward_calls', 'checkpointing',
                'matmul_dtype', 'matmul_size', 'peak_flops_per_s')
#: Ratios to full FT, per round.
RATIO_FIELDS = ('step_s', 'transient_mem_mb', 'abs_peak_mem_mb', 'model_flops',
                'step_flops')
#: What the result's ratios divide, as ``--out`` records it: a step ratio
#: to full FT is one of times (0.7: 0.7x full FT's time, i.e. faster), an
#: autocast speed-up one of speeds (0.7: slower than float32).
RATIO_MEANING = dict(
    ratios_to_full_ft='per field, the row\'s value over full_ft\'s under '
    'the same autocast, taken within each round: step_s and step_cpu_s are '
    'time ratios (below 1: the row\'s step is faster than full_ft\'s), '
    '*_mem_mb below 1: less memory, *_flops below 1: fewer FLOPs',
    amp_speedups='per field, the same mode\'s float32 step time over its '
    'autocast step time, taken within each round: a speed ratio (above 1: '
    'autocast is faster, below 1: slower)')


def _spread(values: List[float]) -> Optional[dict]:
    if any(v is None for v in values):
        return None
    return dict(
        median=statistics.median(values), min=min(values), max=max(values))


def _ratio(rounds: List[Dict[str, dict]], row: str, reference: str,
           field: str) -> Optional[dict]:
    pairs = [(r[row].get(field), r[reference].get(field)) for r in rounds]
    if any(a is None or not b for a, b in pairs):
        return None  # e.g. no transient memory above the CPU's baseline
    return _spread([a / b for a, b in pairs])


def row_name(mode: str, amp: str) -> str:
    """``mode``, or ``mode@amp`` under autocast."""
    return mode if amp == 'none' else f'{mode}@{amp}'


def summarize(rounds: List[Dict[str, dict]]) -> Tuple[dict, dict, dict]:
    """Per-row medians over rounds; per round, ratios to full FT under the
    same autocast and speed-ups of autocast over float32.

    Args:
        rounds (list[dict]): Per round, :func:`measure_mode`'s result with
            :func:`utilisation`'s fields, per row name (:func:`row_name`).

    Returns:
        tuple[dict, dict, dict]: Rows, ratios to full FT and autocast
        speed-ups. A measured field is a dict of ``median``, ``min`` and
        ``max`` over the rounds (None where a round has none, e.g. ``mfu``
        without ``--peak-tflops``), a field of :data:`FIXED_FIELDS` the
        first round's value. Process CPU times are left out on a GPU.
    """
    cpu = all(run['device'] == 'cpu' for r in rounds for run in r.values())
    fields = SPREAD_FIELDS + (CPU_TIME_FIELDS if cpu else ())
    rows = {}
    for row in rounds[0]:
        runs = [r[row] for r in rounds]
        summary = {f: _spread([run.get(f) for run in runs]) for f in fields}
        summary.update({f: runs[0].get(f) for f in FIXED_FIELDS})
        summary['runs'] = runs
        rows[row] = summary
    ratios, speedups = {}, {}
    time_fields = ('step_s', 'step_cpu_s') if cpu else ('step_s', )
    for row, summary in rows.items():
        reference = row_name(REFERENCE_MODE, summary['amp'])
        if reference in rows:
            ratios[row] = {
                f: _ratio(rounds, row, reference, f)
                for f in RATIO_FIELDS + time_fields[1:]
            }
        fp32 = row_name(summary['mode'], 'none')
        if summary['amp'] != 'none' and fp32 in rows:
            # fp32 time over autocast time.
            speedups[row] = {
                f: _ratio(rounds, fp32, row, f)
                for f in time_fields
            }
    return rows, ratios, speedups


def _gflop(flops: float) -> str:
    """GFLOP with one decimal, or three significant digits below 1 (a tiny
    config's step would read 0.0)."""
    gflop = flops / 1e9
    return f'{gflop:.1f}' if gflop >= 1 else f'{gflop:.3g}'


def _fixed_width(columns: List[Tuple[str, int]],
                 lines: List[List[str]]) -> List[str]:
    table = [[name for name, _ in columns]] + lines
    out = [
        ' '.join(f'{cell:<{w}}' if i == 0 else f'{cell:>{w}}'
                 for i, (cell, (_, w)) in enumerate(zip(line, columns)))
        for line in table
    ]
    out.insert(1, '-' * len(out[0]))
    return out


def format_table(rows: dict, ratios: dict, speedups: dict, unit: str) -> str:
    """Three tables, speed, memory and FLOPs, each with a legend: medians
    over rounds; ratios as median [min-max] over rounds (the value alone
    after one round).

    Args:
        rows (dict): :func:`summarize`'s rows.
        ratios (dict): Its ratios to full FT.
        speedups (dict): Its autocast speed-ups.
        unit (str): ``'clips'`` or ``'images'``.

    Returns:
        str: Fixed-width tables.
    """
    cpu = all(s['device'] == 'cpu' for s in rows.values())

    def spread(table, row, field, digits=2):
        r = table.get(row, {}).get(field)
        if r is None:
            return '-'
        if len(rows[row]['runs']) == 1:
            return f'{r["median"]:.{digits}f}'
        return (f'{r["median"]:.{digits}f} [{r["min"]:.{digits}f}-'
                f'{r["max"]:.{digits}f}]')

    def median(s, field, scale=1., fmt='.1f'):
        value = s.get(field)
        return '-' if value is None else format(scale * value['median'], fmt)

    speed = [('row', 22), ('step ms', 8), ('time vs full', 16)]
    if cpu:
        speed += [('cpu ms', 8), ('cpu time vs full', 16)]
    speed += [('amp speed-up', 16)]
    if cpu:
        speed += [('amp speed-up cpu', 16)]
    speed += [(f'{unit}/s', 8), (f'infer {unit}/s', 15), ('trainable', 11)]
    lines = []
    for row, s in rows.items():
        line = [row, median(s, 'step_s', 1e3), spread(ratios, row, 'step_s')]
        if cpu:
            line += [
                median(s, 'step_cpu_s', 1e3),
                spread(ratios, row, 'step_cpu_s')
            ]
        line.append(spread(speedups, row, 'step_s'))
        if cpu:
            line.append(spread(speedups, row, 'step_cpu_s'))
        line += [
            median(s, 'train_throughput', fmt='.2f'),
            median(s, 'infer_throughput', fmt='.2f'),
            f'{s["trainable_params"]:,}'
        ]
        lines.append(line)
    out = [
        'Speed: training step in wall-clock time' +
        (' (and in process CPU time: "cpu ms", "cpu time vs full", "amp '
         'speed-up cpu")' if cpu else '') + '; "time vs full": the step\'s '
        'time over full_ft\'s, a time ratio (below 1: faster than full_ft); '
        '"amp speed-up": the same mode\'s float32 step time over its '
        'autocast step time, a speed ratio (above 1: autocast is faster, '
        'below 1: slower)'
    ] + _fixed_width(speed, lines)

    peak = 'peak RSS MB' if cpu else 'peak alloc MB'
    memory = [('row', 22), ('static MB', 10), ('persist MB', 10),
              ('above base MB', 13), ('transient MB', 12), ('MB vs full', 16),
              (peak, 13), ('MB vs full', 16)]
    lines = [[
        row,
        f'{s["static_mem_mb"]:.1f}',
        f'{s["persistent_mem_mb"]:.1f}',
        median(s, 'peak_above_base_mb'),
        median(s, 'transient_mem_mb'),
        spread(ratios, row, 'transient_mem_mb'),
        median(s, 'abs_peak_mem_mb'),
        spread(ratios, row, 'abs_peak_mem_mb'),
    ] for row, s in rows.items()]
    out += [
        '', 'Memory of training (MB = 2**20 bytes, i.e. MiB, as the JSON\'s '
        '*_mb keys): static = parameters + buffers; persist = '
        'optimizer state + gradients kept between steps (created by the '
        'first step); above base = peak above the use once model, optimizer '
        'and batch existed; transient = above base - persist (activations, '
        'gradients during the backward pass, workspace); ' +
        ('peak RSS = peak resident memory of the whole process while '
         'training (Python and libraries included)' if cpu else
         'peak alloc = torch.cuda.max_memory_allocated while training, '
         'everything included') + '; "MB vs full": the MB of the column '
        'before over full_ft\'s (below 1: less memory)'
    ] + _fixed_width(memory, lines)

    flops = [('row', 22), ('step GFLOP', 10), ('model GFLOP', 11),
             ('GFLOP vs full', 13), ('matmul TFLOP/s', 14),
             ('% of matmul', 11)]
    if cpu:
        flops += [('% of matmul cpu', 15)]
    flops += [('HFU %', 6), ('MFU %', 6)]
    lines = []
    for row, s in rows.items():
        line = [
            row,
            _gflop(s['step_flops']),
            _gflop(s['model_flops']),
            median(ratios.get(row, {}), 'model_flops', fmt='.3f'),
            median(s, 'matmul_flops_per_s', 1e-12, '.3g'),
            median(s, 'matmul_utilisation', 100.),
        ]
        if cpu:
            line.append(median(s, 'matmul_utilisation_cpu_time', 100.))
        line += [median(s, 'hfu', 100.), median(s, 'mfu', 100.)]
        lines.append(line)
    out += [
        '', 'FLOPs per training step: step = as executed (a fused '
        'attention backward recomputes q k^T, checkpointed blocks run their '
        'forward twice); model = without recomputation; "GFLOP vs full": '
        'model FLOPs over full_ft\'s (below 1: fewer), the step time ratio '
        'at equal MFU; "% of matmul": '
        'step FLOPs per second over the round\'s measured rate of a square '
        'matmul in the step\'s dtype' +
        (' (and in process CPU time)' if cpu else '') +
        '; HFU / MFU: step / model FLOPs per second over --peak-tflops'
    ] + _fixed_width(flops, lines)
    return '\n'.join(out)


def plot(rows: dict, ratios: dict, title: str, unit: str, path: str):
    """Bars per row: training step (wall-clock, and CPU time on the CPU),
    transient and absolute peak memory and inference throughput; ratios to
    full FT annotated.

    Args:
        rows (dict): :func:`summarize`'s rows.
        ratios (dict): Its ratios to full FT.
        title (str): The figure's title.
        unit (str): ``'clips'`` or ``'images'``.
        path (str): Where the PNG is written.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(rows)
    modes = list(dict.fromkeys(s['mode'] for s in rows.values()))
    colors = [f'C{modes.index(rows[n]["mode"])}' for n in names]
    hatches = ['' if rows[n]['amp'] == 'none' else '//' for n in names]
    cpu = all(s['device'] == 'cpu' for s in rows.values())
    panels = [('step_s', 'training step, wall-clock (ms)', 1e3)]
    if cpu:
        panels.append(('step_cpu_s', 'training step, CPU time (ms)', 1e3))
    panels += [('transient_mem_mb', 'transient memory of training (MB)', 1),
               ('abs_peak_mem_mb', 'peak RSS of training (MB)'
                if cpu else 'peak allocated in training (MB)', 1),
               ('infer_throughput', f'inference ({unit}/s)', 1)]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.8 * len(panels), 3.6))
    for ax, (field, label, scale) in zip(axes, panels):
        values = [rows[n][field] for n in names]
        med = [v['median'] * scale for v in values]
        err = [[(v['median'] - v['min']) * scale for v in values],
               [(v['max'] - v['median']) * scale for v in values]]
        bars = ax.bar(
            range(len(names)),
            med,
            yerr=err,
            color=colors,
            hatch=hatches,
            edgecolor='white',
            capsize=2)
        for bar, name in zip(bars, names):
            ratio = ratios.get(name, {}).get(field)
            if ratio is not None:
                ax.annotate(
                    f'{ratio["median"]:.2f}',
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha='center',
                    va='bottom',
                    fontsize=6,
                    xytext=(0, 2),
                    textcoords='offset points')
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=35, ha='right', fontsize=7)
        ax.set_title(label, fontsize=8)
        ax.tick_params(axis='y', labelsize=7)
    fig.suptitle(
        f'{title}; bars: median (min-max) over rounds; labels: the bar over '
        'full_ft\'s (time or MB; below 1: faster or less)',
        fontsize=8)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format='png', dpi=72)
    plt.close(fig)
    atomic_write(png.getvalue(), os.path.abspath(path))


def device_label(result: dict) -> str:
    """What the numbers of :func:`run_benchmark`'s result were measured
    on: ``'cuda (NVIDIA H200)'``, or ``'cpu (AMD EPYC, AVX2 AVX512
    AVX512-BF16, 2 cores, 1 thread(s))'`` (its :data:`.MATMUL_FLAGS`, where
    the result records them, and the threads PyTorch used in the
    workers)."""
    runs = [run for row in result['modes'].values() for run in row['runs']]
    if result['settings']['device'] == 'cuda':
        gpus = sorted({str(run.get('gpu')) for run in runs})
        return f'cuda ({", ".join(gpus) or "unknown GPU"})'
    machine = result.get('machine') or {}
    threads = sorted({run.get('threads') for run in runs} - {None})
    flags = machine.get('matmul_flags')
    flags = '' if flags is None else f', {" ".join(flags) or "no AVX2"}'
    return (f'cpu ({machine.get("cpu") or "unknown CPU"}{flags}, '
            f'{machine.get("cores")} cores, '
            f'{"/".join(map(str, threads)) or "?"} thread(s))')


def summary_title(result: dict) -> str:
    """One line naming the config, batch, input shape, device (the CPU's
    or GPU's model) and rounds of :func:`run_benchmark`'s result."""
    settings = result['settings']
    return (f'{os.path.basename(result["config"])}: batch '
            f'{settings["batch_size"]} x {tuple(settings["sample_shape"])}, '
            f'{device_label(result)}, {settings["repeat"]} round(s)')


def format_summary(result: dict) -> str:
    """The title and the tables of :func:`run_benchmark`'s result.

    Args:
        result (dict): What ``--out`` holds.

    Returns:
        str: Several lines, for a terminal.
    """
    settings = result['settings']
    rounds = ('' if settings['repeat'] == 1 else
              ', median [min-max] over rounds; the order of the modes '
              'rotates from round to round')
    return (f'{summary_title(result)}; medians over rounds; "... vs full": '
            'the row\'s value over full_ft\'s under the same autocast, taken '
            f'within each round'
            f'{rounds}\n\n' +
            format_table(result['modes'], result['ratios_to_full_ft'],
                         result['amp_speedups'], settings['unit']))
