# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tables of :func:`~mmadaptformer.apis.benchmark.benchmark_inference`'s
result, as ``tools/analysis_tools/benchmark_infer.py`` prints them: every
ratio a speed ratio (above 1: faster), throughputs in wall-clock time."""
from typing import Sequence

__all__ = ['blocks_text', 'format_table']


def blocks_text(blocks: Sequence[int], num_blocks: int) -> str:
    """Words for the adapted blocks ``blocks`` (indices from 0) of a model
    of ``num_blocks`` adaptable blocks, runs of consecutive blocks joined.

    Examples:
        >>> blocks_text([1], 2)
        "block 1 of the model's 2 adaptable blocks (0-1)"
        >>> blocks_text([0, 9, 10, 11], 12)
        "blocks 0, 9-11 of the model's 12 adaptable blocks (0-11)"
        >>> blocks_text([0], 1)
        "block 0, the model's only adaptable block"
    """
    runs = []
    for block in sorted(blocks):
        if runs and block == runs[-1][1] + 1:
            runs[-1][1] = block
        else:
            runs.append([block, block])
    spans = ', '.join(str(a) if a == b else f'{a}-{b}' for a, b in runs)
    if num_blocks == 1:
        return "block 0, the model's only adaptable block"
    noun = 'block' if len(blocks) == 1 else 'blocks'
    return (f"{noun} {spans} of the model's {num_blocks} adaptable "
            f'blocks (0-{num_blocks - 1})')


def format_table(result: dict, cpu: str) -> str:
    """Markdown tables of :func:`benchmark_inference`'s result."""
    lines = [
        f'CPU: {cpu}; {result["threads"]} thread(s); batch of '
        f'{result["batch_size"]} inputs; median of {result["repeat"]} calls '
        f'after {result["warmup"]} warm-up. Throughputs (/s) in wall-clock '
        'time; speed ratios (x, above 1: faster) in process CPU time (all '
        'threads), the two sides alternating within each repetition.', '',
        '| model | inputs/s (wall) | speed vs stock (x, CPU time) |',
        '| --- | --- | --- |'
    ]
    vs = result['vs_stock']
    lines.append(f'| AdaptFormer (fast path) | {vs["adaptformer_per_s"]:.2f} '
                 f'| {vs["ratio"]:.2f} |')
    lines.append(f'| stock | {vs["stock_per_s"]:.2f} | |')
    lines += [
        '', '| tasks | mixed batch (answers/s, wall) | N models one after '
        'another (answers/s, wall) | one task, same rows (answers/s, wall) '
        '| mixed speed vs one after another (x, CPU time) | mixed speed vs '
        'one task same rows (x, CPU time) | activation peak MB: mixed / '
        'after another / one task | weights MB: mixed / after another |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for row in result['mixed']:
        mb = row['peak_mb']
        lines.append(f'| {row["tasks"]} | {row["mixed_per_s"]:.2f} | '
                     f'{row["one_after_another_per_s"]:.2f} | '
                     f'{row["single_task_same_rows_per_s"]:.2f} | '
                     f'{row["mixed_vs_one_after_another"]:.2f} | '
                     f'{row["mixed_vs_single_task_same_rows"]:.2f} | '
                     f'{mb["mixed"]:.1f} / {mb["one_after_another"]:.1f} / '
                     f'{mb["single_task_same_rows"]:.1f} | '
                     f'{row["weights_mb"]["mixed"]:.1f} / '
                     f'{row["weights_mb"]["one_after_another"]:.1f} |')
    mem = result['memory']
    per = ', '.join(f'{m:.2f}' for m in mem['per_added_task_mb'])
    # One task in --tasks adds none: say so, not 'each added task  MB'.
    per = f'each added task {per} MB' if per else (
        'no task added (give --tasks 1 2 or more to measure one)')
    lines += [
        '', f'Memory (float32 tensors): first task {mem["first_task_mb"]:.1f}'
        f' MB; {per}; one more whole model {mem["whole_model_mb"]:.1f} MB.'
    ]
    sp = result['shared_prefix']
    lines += [
        '', f'Shared prefix: {sp["tasks"]} tasks with adapters in '
        f'{blocks_text(sp["blocks"], sp["num_blocks"])}: '
        f'{sp["shared_per_s"]:.2f} answers/s (wall) shared '
        f'vs {sp["fan_out_at_block_0_per_s"]:.2f} fanned out at block 0: '
        f'{sp["speedup"]:.2f}x as fast (CPU time).'
    ]
    return '\n'.join(lines)
