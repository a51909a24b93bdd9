# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The training benchmark's summary over rounds, its table and its plot."""
import os
import re
import statistics
from typing import Dict, List, Optional, Tuple

from .options import REFERENCE_MODE


def cpu_info() -> dict:
    """CPU model name and core count, read from ``/proc/cpuinfo``."""
    name = None
    try:
        with open('/proc/cpuinfo') as f:
            match = re.search(r'^model name\s*:\s*(.+)$', f.read(), re.M)
        name = match.group(1).strip() if match else None
    except OSError:
        pass
    return dict(cpu=name, cores=os.cpu_count())


def loadavg() -> Optional[List[float]]:
    """The 1, 5 and 15 minute load averages, None where unknown."""
    try:
        with open('/proc/loadavg') as f:
            return [float(v) for v in f.read().split()[:3]]
    except OSError:
        return None


def _spread(values: List[float]) -> dict:
    return dict(
        median=statistics.median(values), min=min(values), max=max(values))


def row_name(mode: str, amp: str) -> str:
    """``mode``, or ``mode@amp`` under autocast."""
    return mode if amp == 'none' else f'{mode}@{amp}'


def summarize(rounds: List[Dict[str, dict]]) -> Tuple[dict, dict, dict]:
    """Per-row medians over rounds; per round, ratios to full FT under the
    same autocast and speed-ups of autocast over float32.

    Args:
        rounds (list[dict]): Per round, :func:`measure_mode`'s result per
            row name (:func:`row_name`).

    Returns:
        tuple[dict, dict, dict]: Rows, ratios to full FT and autocast
        speed-ups; each value a dict of ``median``, ``min`` and ``max``.
    """
    fields = ('step_s', 'step_cpu_s', 'train_throughput', 'peak_mem_mb',
              'infer_step_s', 'infer_throughput', 'achieved_flops_per_s',
              'matmul_flops_per_s', 'mfu')
    if all(run['mfu_cpu_time'] is not None for r in rounds
           for run in r.values()):
        fields += ('mfu_cpu_time', )
    rows = {}
    for row in rounds[0]:
        runs = [r[row] for r in rounds]
        summary = {f: _spread([run[f] for run in runs]) for f in fields}
        for key in ('mode', 'amp', 'trainable_params', 'total_params',
                    'optim_state_mb', 'frozen_params_with_grad',
                    'adapters_added', 'device', 'gpu', 'torch', 'threads',
                    'step_flops', 'matmul_dtype'):
            summary[key] = runs[0][key]
        # Not in the results of versions before it was recorded.
        summary['matmul_size'] = runs[0].get('matmul_size')
        summary['runs'] = runs
        rows[row] = summary
    ratios, speedups = {}, {}
    for row, summary in rows.items():
        reference = row_name(REFERENCE_MODE, summary['amp'])
        if reference in rows:
            ratios[row] = {
                f: _spread([r[row][f] / r[reference][f] for r in rounds])
                for f in ('step_s', 'step_cpu_s', 'peak_mem_mb')
            }
        fp32 = row_name(summary['mode'], 'none')
        if summary['amp'] != 'none' and fp32 in rows:
            speedups[row] = {
                f: _spread([r[fp32][f] / r[row][f] for r in rounds])
                for f in ('step_s', 'step_cpu_s')
            }
    return rows, ratios, speedups


def format_table(rows: dict, ratios: dict, speedups: dict, unit: str) -> str:
    """Medians over rounds; ratios as median [min-max] over rounds.

    Args:
        rows (dict): :func:`summarize`'s rows.
        ratios (dict): Its ratios to full FT.
        speedups (dict): Its autocast speed-ups.
        unit (str): ``'clips'`` or ``'images'``.

    Returns:
        str: A fixed-width table.
    """

    def spread(table, row, field):
        if row not in table:
            return '-'
        r = table[row][field]
        return f'{r["median"]:.2f} [{r["min"]:.2f}-{r["max"]:.2f}]'

    def cells(row, s):
        median = {k: v['median'] for k, v in s.items() if isinstance(v, dict)}
        return [
            row,
            f'{1e3 * median["step_s"]:.1f}',
            spread(ratios, row, 'step_s'),
            f'{1e3 * median["step_cpu_s"]:.1f}',
            spread(ratios, row, 'step_cpu_s'),
            spread(speedups, row, 'step_cpu_s'),
            f'{median["train_throughput"]:.2f}',
            f'{median["peak_mem_mb"]:.1f}',
            spread(ratios, row, 'peak_mem_mb'),
            f'{s["trainable_params"]:,}',
            f'{s["optim_state_mb"]:.2f}',
            f'{median["infer_throughput"]:.2f}',
            _gflop(s['step_flops']),
            f'{100 * median["mfu"]:.1f}',
            f'{100 * median["mfu_cpu_time"]:.1f}'
            if 'mfu_cpu_time' in median else '-',
        ]

    columns = (('row', 22), ('step ms', 8), ('x full', 16), ('cpu ms', 8),
               ('x full', 16), ('fp32/amp cpu', 16), (f'{unit}/s', 8),
               ('peak MB', 8), ('x full', 16), ('trainable', 11),
               ('optim MB', 8), (f'infer {unit}/s', 15), ('GFLOP', 8),
               ('MFU %', 6), ('MFU cpu %', 9))
    table = [[name for name, _ in columns]]
    table += [cells(row, s) for row, s in rows.items()]
    lines = [
        ' '.join(f'{cell:<{w}}' if i == 0 else f'{cell:>{w}}'
                 for i, (cell, (_, w)) in enumerate(zip(line, columns)))
        for line in table
    ]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)


def _gflop(flops: float) -> str:
    """GFLOP with one decimal, or three significant digits below 1 (a tiny
    config's step would read 0.0)."""
    gflop = flops / 1e9
    return f'{gflop:.1f}' if gflop >= 1 else f'{gflop:.3g}'


def plot(rows: dict, ratios: dict, title: str, unit: str, path: str):
    """Bars per row: training step (wall-clock and CPU time), peak memory
    and inference throughput; ratios to full FT annotated.

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
    panels = (('step_s', 'training step, wall-clock (ms)',
               1e3), ('step_cpu_s', 'training step, CPU time (ms)', 1e3),
              ('peak_mem_mb', 'training peak memory above baseline (MB)',
               1), ('infer_throughput', f'inference ({unit}/s)', 1))
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3.6))
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
        if field in ('step_s', 'step_cpu_s', 'peak_mem_mb'):
            for bar, name in zip(bars, names):
                if name in ratios:
                    ax.annotate(
                        f'{ratios[name][field]["median"]:.2f}',
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
        f'{title}; bars: median (min-max) over rounds; labels: ratio to '
        'full_ft',
        fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def summary_title(result: dict) -> str:
    """One line naming the config, batch, input shape, device and rounds
    of :func:`run_benchmark`'s result."""
    settings = result['settings']
    return (f'{os.path.basename(result["config"])}: batch '
            f'{settings["batch_size"]} x {tuple(settings["sample_shape"])}, '
            f'{settings["device"]}, {settings["repeat"]} round(s)')


def format_summary(result: dict) -> str:
    """The title and the table of :func:`run_benchmark`'s result.

    Args:
        result (dict): What ``--out`` holds.

    Returns:
        str: Several lines, for a terminal.
    """
    return (f'{summary_title(result)}; medians over rounds; "x full": ratio '
            'to full_ft under the same autocast, "fp32/amp": speed-up of '
            'autocast, both taken within each round\n' +
            format_table(result['modes'], result['ratios_to_full_ft'],
                         result['amp_speedups'], result['settings']['unit']))
