# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the GPU check's inference checks share: the training checks'
checkpoints and validation files, the media of those files as arrays, and
how class scores are compared."""
import glob
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

__all__ = [
    'trained_tasks', 'val_files', 'decoded_arrays', 'class_scores', 'max_diff',
    'limit_below'
]


def val_files(ctx: dict, task: str) -> List[str]:
    """The workspace's validation videos (``task='video'``) or images."""
    data = ctx['workspace'][f'{task}_data']
    pattern = osp.join(data, 'videos', 'val_*.mp4') if task == 'video' \
        else osp.join(data, 'val', '*', '*.png')
    return sorted(glob.glob(pattern))


def trained_tasks(ctx: dict) -> List[Tuple[str, Dict[str, str], list]]:
    """``(task, {run: epoch_2.pth}, validation files)`` of each task whose
    training check left checkpoints (runs: float32, float16, bfloat16)."""
    tasks = []
    for task in ('video', 'image'):
        runs = osp.join(ctx['out_dir'], 'work', f'train_{task}')
        ckpts = {
            osp.basename(osp.dirname(path)): path
            for path in sorted(glob.glob(osp.join(runs, '*', 'epoch_2.pth')))
        }
        files = val_files(ctx, task)
        if ckpts and files:
            tasks.append((task, ckpts, files))
    return tasks


def decoded_arrays(task: str, files: List[str]) -> List[np.ndarray]:
    """The media of ``files`` as the inference API takes arrays: a video's
    every frame ``T x H x W x 3`` RGB (decord), an image ``H x W x 3`` BGR
    (``mmcv.imread``)."""
    if task == 'video':
        import decord
        arrays = []
        for path in files:
            reader = decord.VideoReader(path)
            arrays.append(reader.get_batch(list(range(len(reader)))).asnumpy())
        return arrays
    import mmcv
    return [mmcv.imread(path) for path in files]


def class_scores(results: dict, name: Optional[str] = None) -> torch.Tensor:
    """The class scores of an inference result, one row per input in the
    results' order, of the task ``name`` (default: the only one)."""
    return torch.tensor([
        answer[name if name is not None else next(iter(answer))]['scores']
        for answer in results.values()
    ])


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest absolute difference of two score tensors."""
    return float((a.float().cpu() - b.float().cpu()).abs().max())


def limit_below(tolerance: float, distance: float) -> float:
    """The smaller of ``tolerance`` and a tenth of ``distance`` (the
    distance to a wrong answer, such as another task's), or ``tolerance``
    if that distance is 0: a limit a wrong answer cannot meet."""
    return min(tolerance, distance / 10) if distance > 0 else tolerance
