# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Small synthetic video tasks written in Something-Something v2's own
on-disk format, for the transfer study in ``tools/demo``.

Both tasks need temporal reasoning, as SSv2 does:

* ``'direction'`` (4 classes): a square crosses the frame left to right,
  right to left, downwards or upwards. Every frame shows one square; only
  its motion tells the class.
* ``'appearance'`` (2 classes): a square, drifting slowly, appears or
  disappears at a random moment in the middle of the clip. Every class has
  frames with and frames without the square, so a single frame cannot tell
  the classes apart; only the order can.

Colours, sizes, positions and timing are random, and frames carry noise.
A task is written as ``<root>/videos/<id>.webm`` plus
``<root>/annotations/something-something-v2-{train,validation,labels}.json``,
exactly the files the SSv2 owners distribute, so the package's own
``tools/data/ssv2/build_file_list.py`` turns it into annotation lists.
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, List

import numpy as np

from mmadaptformer.utils.video_writer import write_video

__all__ = ['SYNTHETIC_TASKS', 'make_synthetic_ssv2']

#: task -> SSv2-style templates, in label order.
SYNTHETIC_TASKS: Dict[str, List[str]] = {
    'direction': [
        'Pushing [something] from left to right',
        'Pushing [something] from right to left',
        'Moving [something] down',
        'Moving [something] up',
    ],
    'appearance': [
        '[Something] appearing',
        '[Something] disappearing',
    ],
}
_OBJECTS = ('box', 'tile', 'card', 'block')


def _canvas(num_frames: int, size: int, rng: np.random.Generator):
    background = rng.uniform(0, 80, 3)
    frames = np.empty((num_frames, size, size, 3), np.float32)
    frames[:] = background
    color = rng.uniform(130, 255, 3)
    side = int(rng.integers(size // 5, size // 3 + 1))
    return frames, color, side


def _direction(label: int, num_frames: int, size: int,
               rng: np.random.Generator) -> np.ndarray:
    frames, color, side = _canvas(num_frames, size, rng)
    span = size - side
    fixed = int(rng.integers(0, span + 1))
    for t in range(num_frames):
        p = int(round(span * t / (num_frames - 1)))
        x, y = {
            0: (p, fixed),
            1: (span - p, fixed),
            2: (fixed, p),
            3: (fixed, span - p)
        }[label]
        frames[t, y:y + side, x:x + side] = color
    return frames


def _appearance(label: int, num_frames: int, size: int,
                rng: np.random.Generator) -> np.ndarray:
    frames, color, side = _canvas(num_frames, size, rng)
    switch = int(rng.integers(num_frames // 4, num_frames - num_frames // 4))
    y, x = (int(v) for v in rng.integers(0, size - side + 1, 2))
    dy, dx = (int(v) for v in rng.integers(-1, 2, 2))
    for t in range(num_frames):
        visible = t >= switch if label == 0 else t < switch
        if visible:
            yy = min(max(y + dy * t, 0), size - side)
            xx = min(max(x + dx * t, 0), size - side)
            frames[t, yy:yy + side, xx:xx + side] = color
    return frames


_RENDER: Dict[str, Callable] = {
    'direction': _direction,
    'appearance': _appearance,
}


def make_synthetic_ssv2(root: str,
                        task: str,
                        num_train: int,
                        num_val: int,
                        seed: int = 0,
                        num_frames: int = 16,
                        size: int = 32,
                        first_id: int = 1) -> Dict[str, str]:
    """Write one synthetic task in SSv2's on-disk format.

    Args:
        root (str): Output folder.
        task (str): ``'direction'`` or ``'appearance'``.
        num_train (int): Training videos (balanced over classes).
        num_val (int): Validation videos (balanced over classes).
        seed (int): Random seed. Defaults to 0.
        num_frames (int): Frames per video. Defaults to 16.
        size (int): Frame height and width. Defaults to 32.
        first_id (int): The first video id. Defaults to 1.

    Returns:
        dict: ``'videos'`` and ``'annotations'`` folders.
    """
    if task not in SYNTHETIC_TASKS:
        raise ValueError(f'task={task!r} is not one of '
                         f'{sorted(SYNTHETIC_TASKS)}')
    templates = SYNTHETIC_TASKS[task]
    rng = np.random.default_rng(seed)
    video_dir = osp.join(root, 'videos')
    ann_dir = osp.join(root, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    labels = {
        t.replace('[', '').replace(']', ''): str(i)
        for i, t in enumerate(templates)
    }
    next_id = first_id
    for split, count in (('train', num_train), ('validation', num_val)):
        entries = []
        for i in range(count):
            label = i % len(templates)
            frames = _RENDER[task](label, num_frames, size, rng)
            frames += rng.normal(0, 6, frames.shape)
            video = np.clip(frames, 0, 255).astype(np.uint8)
            write_video(osp.join(video_dir, f'{next_id}.webm'), video)
            thing = _OBJECTS[int(rng.integers(len(_OBJECTS)))]
            template = templates[label]
            entries.append(
                dict(
                    id=str(next_id),
                    label=template.replace('[something]', thing).replace(
                        '[Something]', thing.capitalize()),
                    template=template,
                    placeholders=[thing]))
            next_id += 1
        with open(
                osp.join(ann_dir, f'something-something-v2-{split}.json'),
                'w') as f:
            json.dump(entries, f)
    with open(osp.join(ann_dir, 'something-something-v2-labels.json'),
              'w') as f:
        json.dump(labels, f, indent=1)
    return dict(videos=video_dir, annotations=ann_dir)
