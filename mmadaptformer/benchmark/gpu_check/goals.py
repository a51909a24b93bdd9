# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The goals of issue #15 for the GPU check's speed figures, and the
datasheet peaks its MFU is taken against."""
from typing import Optional

from ..cuda_api import device_name

__all__ = [
    'GOALS', 'DATASHEET_PEAK_TFLOPS', 'datasheet_peak', 'evaluate_goals'
]

# The goals of issue #15 for ViT-B/16, 8 x 224^2, batch 16 on one H200.
GOALS = dict(step_ratio=0.70, memory_ratio_to_official=0.5, mfu_bf16=0.40)

#: Dense (no sparsity) tensor-core peaks in TFLOPS by
#: ``torch.cuda.get_device_name()`` and autocast dtype, from NVIDIA's
#: datasheets, for the GPUs whose numbers are certain; float32 rows run
#: their matmuls without TF32 (PyTorch's default) and get none. Other GPUs
#: get no MFU, only the utilisation of the measured matmul, unless the
#: user gives their peak (``gpu_check.sh --peak-tflops``).
DATASHEET_PEAK_TFLOPS = {
    'NVIDIA H100 80GB HBM3': dict(bf16=989., fp16=989.),  # H100 SXM5
    'NVIDIA H200': dict(bf16=989., fp16=989.),  # H200 SXM
}


def datasheet_peak(device: str, given: Optional[dict] = None) -> dict:
    """The datasheet peaks of this machine's GPU, and where they are from.

    Args:
        device (str): ``'cuda'`` or ``'cpu'``.
        given (dict, optional): Peaks in TFLOPS by autocast dtype that the
            user gave (``gpu_check.sh --peak-tflops``); they take the place
            of :data:`DATASHEET_PEAK_TFLOPS`, for a GPU not in it or a
            board run at another clock. Defaults to None.

    Returns:
        dict: ``gpu`` (its name, None on the CPU), ``peak_tflops`` (by
        autocast dtype; empty where unknown) and ``source``.
    """
    gpu = device_name(device)
    if given:
        listed = ' '.join(f'{amp}={tflops:g}' for amp, tflops in given.items())
        return dict(
            gpu=gpu,
            peak_tflops=dict(given),
            source=f'given with --peak-tflops {listed} for '
            f'{gpu or "the CPU"}')
    peaks = DATASHEET_PEAK_TFLOPS.get(gpu, {})
    source = (f'NVIDIA datasheet of the {gpu}, dense tensor-core peak '
              '(without sparsity)' if peaks else
              f'none known for {gpu or "the CPU"}: MFU not given, only the '
              'utilisation of the measured matmul (give the datasheet\'s '
              'dense peak with --peak-tflops bf16=TFLOPS fp16=TFLOPS)')
    return dict(gpu=gpu, peak_tflops=dict(peaks), source=source)


def evaluate_goals(results: dict) -> list:
    """Each goal of issue #15 with its measured value and ``met``,
    ``missed`` or ``not measured``.

    The step goal is the ratio of wall-clock steps; beside it, ``note``
    gives the ratio of model FLOPs, the step ratio that equal MFU would
    give. The memory goal compares absolute peaks (on a GPU
    ``max_memory_allocated``, everything included; on a CPU the process's
    peak RSS). The MFU goal uses the datasheet peak of a known GPU, else
    only the utilisation of the measured matmul, and says so.

    Args:
        results (dict): The checks' results by name.

    Returns:
        list[dict]: ``goal``, ``measured``, ``relation``, ``limit``,
        ``status`` and ``note`` (None, or what to read the value against).
    """
    details = results.get('benchmark', {}).get('details', {})
    rows = details.get('rows', {})
    official = results.get('official_baseline', {}).get('details', {})

    def goal(text, measured, relation, limit, note=None):
        if measured is None:
            status = 'not measured'
        elif relation == '<=':
            status = 'met' if measured <= limit else 'missed'
        else:
            status = 'met' if measured >= limit else 'missed'
        return dict(
            goal=text,
            measured=measured,
            relation=relation,
            limit=limit,
            status=status,
            note=note)

    goals = []
    for amp in ('bf16', 'fp16'):
        row = rows.get(f'adaptformer@{amp}', {})
        flop_ratio = row.get('model_flop_ratio_to_full_ft')
        goals.append(
            goal(
                f'AdaptFormer step time / full FT step time ({amp}, '
                'wall-clock)',
                row.get('step_ratio_to_full_ft'),
                '<=',
                GOALS['step_ratio'],
                note=None if flop_ratio is None else
                f'model FLOPs / full FT\'s {flop_ratio:.3f}: the step ratio '
                'at equal MFU'))
    ours = rows.get('adaptformer@fp16') or rows.get('adaptformer@bf16') or {}
    ratio = None
    if ours.get('abs_peak_mem_mb') is not None and \
            official.get('abs_peak_mem_mb'):
        ratio = ours['abs_peak_mem_mb'] / official['abs_peak_mem_mb']
    goals.append(
        goal(
            'AdaptFormer peak memory / official code\'s '
            f'({official.get("dtype", "?")} both, absolute peaks)' if ratio
            is not None else 'AdaptFormer peak memory / official code\'s',
            ratio,
            '<=',
            GOALS['memory_ratio_to_official'],
            note=None if ratio is None else
            f'{ours.get("peak_mem_kind")}: {ours["abs_peak_mem_mb"]:.0f} MB '
            f'vs {official["abs_peak_mem_mb"]:.0f} MB'))
    row = rows.get('adaptformer@bf16', {})
    if row.get('mfu') is not None:
        goals.append(
            goal(
                'AdaptFormer MFU (bf16, model FLOPs / datasheet peak)',
                row['mfu'],
                '>=',
                GOALS['mfu_bf16'],
                note=details.get('peak_source')))
    else:
        goals.append(
            goal(
                'AdaptFormer % of the measured bf16 matmul (in place of '
                'MFU: no datasheet peak known for this device)',
                row.get('matmul_utilisation'),
                '>=',
                GOALS['mfu_bf16'],
                note=details.get('peak_source')))
    return goals
