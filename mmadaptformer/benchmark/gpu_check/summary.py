# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The short text summary of a GPU check (``summary.txt``, and what
``tools/gpu_check.sh`` prints): the checks, the issue's goals, the speed
rows and the profile's top operators, from ``gpu_check.json``'s data."""

__all__ = ['format_gpu_summary']


def _cell(value, fmt: str) -> str:
    return '-' if value is None else format(value, fmt)


def _deprecation_lines(seen) -> list:
    """A check's deprecation and future warnings: a list, or lists by
    tool run."""
    if isinstance(seen, dict):
        seen = [
            f'{run}: {line}' for run, found in seen.items() for line in found
        ]
    return [f'    deprecation / future warnings: {len(seen)}'] + [
        f'      {line[:160]}' for line in seen[:5]
    ] + ([f'      ... ({len(seen) - 5} more in gpu_check.json)']
         if len(seen) > 5 else [])


def format_gpu_summary(data: dict) -> str:
    """The short text summary of ``gpu_check.json``'s data.

    Args:
        data (dict): What ``gpu_check.json`` holds.

    Returns:
        str: Lines for a terminal and ``summary.txt``.
    """
    lines = [
        f'mmadaptformer GPU check: {data["status"]}; device '
        f'{data.get("gpu") or data["device"]}, torch {data["torch"]}, '
        f'{data["date"]}'
    ]
    if data.get('reason'):
        lines.append(data['reason'])
    deprecated = (data.get('torch_apis') or {}).get('deprecated')
    if deprecated:
        lines.append(f'torch {data["torch"]} deprecates names the GPU '
                     f'checks use: {deprecated}')
    if data.get('elapsed_s') is not None:
        lines.append(f'{data["elapsed_s"]:.0f} s of a {data["budget_s"]:.0f}'
                     ' s budget')
    # The name column fits the longest name, with two spaces after it.
    width = max([len(name) + 2 for name in data['checks']] + [22])
    if data['checks']:
        lines += [
            '',
            f'{"check":<{width}}{"status":<10}{"seconds":>8}{"wall s":>8}  '
            '(seconds: the check itself; wall s: its process, start-up and '
            'imports included)'
        ]
    for name, result in data['checks'].items():
        lines.append(f'{name:<{width}}{result["status"]:<10}'
                     f'{_cell(result.get("seconds"), ".0f"):>8}'
                     f'{_cell(result.get("wall_seconds"), ".0f"):>8}')
        if result.get('reason') and result['status'] != 'running':
            lines.append(f'    {result["reason"]}')
        for failure in result.get('failures', []):
            lines.append(f'    FAILED {failure}')
        seen = (result.get('details') or {}).get('deprecation_warnings')
        if seen is not None:
            lines += _deprecation_lines(seen)
    goals = data.get('goals') or []
    if data['checks']:
        lines += ['', 'Goals (issue #15; ViT-B/16, 8x224^2, batch 16, H200):']
        for goal in goals:
            lines.append(f'  {goal["goal"]}: '
                         f'{_cell(goal["measured"], ".3f")} '
                         f'{goal["relation"]} {goal["limit"]} -> '
                         f'{goal["status"]}')
            if goal.get('note'):
                lines.append(f'    ({goal["note"]})')
    rows = data['checks'].get('benchmark', {}).get('details',
                                                   {}).get('rows', {})
    official = data['checks'].get('official_baseline', {}).get('details')
    if rows or official:
        unit = data['checks']['benchmark'].get('details', {}).get(
            'unit', 'clips') if rows else 'clips'
        lines += [
            '', 'Speed rows: step wall-clock; peak: absolute peak (GPU: '
            'max_memory_allocated; CPU: process peak RSS); transient: '
            'peak above the built model less optimizer state and kept '
            'gradients; "% mm": % of the measured matmul; "x full": the '
            'row\'s value over full FT\'s (step: time, below 1 is faster; '
            'GFLOP: model FLOPs, the step ratio at equal MFU; peak, trans: '
            'MB, below 1 is less)',
            f'{"row":<26}{"step ms":>9}{unit + "/s":>10}{"peak MB":>10}'
            f'{"trans MB":>10}{"MFU %":>7}{"% mm":>7}{"x full step":>12}'
            f'{"x full GFLOP":>13}{"x full peak":>12}{"x full trans":>13}'
        ]

        def percent(value):
            return _cell(None if value is None else 100 * value, '.1f')

        for row, r in rows.items():
            flop_ratio = r['model_flop_ratio_to_full_ft']
            transient_ratio = r['transient_ratio_to_full_ft']
            lines.append(f'{row:<26}{_cell(r["step_ms"], ".1f"):>9}'
                         f'{_cell(r["throughput"], ".1f"):>10}'
                         f'{_cell(r["abs_peak_mem_mb"], ".0f"):>10}'
                         f'{_cell(r["transient_mem_mb"], ".0f"):>10}'
                         f'{percent(r["mfu"]):>7}'
                         f'{percent(r["matmul_utilisation"]):>7}'
                         f'{_cell(r["step_ratio_to_full_ft"], ".2f"):>12}'
                         f'{_cell(flop_ratio, ".3f"):>13}'
                         f'{_cell(r["peak_ratio_to_full_ft"], ".2f"):>12}'
                         f'{_cell(transient_ratio, ".2f"):>13}')
        if official and official.get('step_ms') is not None:
            lines.append(
                f'{"official@" + official["dtype"]:<26}'
                f'{official["step_ms"]:>9.1f}{official["throughput"]:>10.1f}'
                f'{official["abs_peak_mem_mb"]:>10.0f}'
                f'{official["transient_mem_mb"]:>10.0f}{"-":>7}{"-":>7}'
                f'{"-":>12}{"-":>13}{"-":>12}{"-":>13}')
    top = data['checks'].get('profile', {}).get('details',
                                                {}).get('top_ops', [])
    if top:
        lines += ['', 'Top operators of the AdaptFormer step (self time):']
        for op in top[:8]:
            lines.append(f'  {op["name"][:48]:<48} '
                         f'{op["self_ms_per_step"]:8.2f} ms/step '
                         f'{100 * op["share"]:5.1f}%')
    return '\n'.join(lines) + '\n'
