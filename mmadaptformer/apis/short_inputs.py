# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Inputs shorter than a clip: videos with fewer frames than one clip of a
task's test pipeline spans.

They are classified with repeated frames (the sampler loops or repeats
them), as ``tools/test.py`` evaluates them; the test set names them
(``DataHealthHook``), and :func:`short_video_inputs` finds them among the
answered inputs of inference, files, arrays and folders of frames, so
that the tools can name
them the same way
(:func:`~mmadaptformer.datasets.short_videos.short_videos_notice`).
"""
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config
from mmengine.logging import print_log

from mmadaptformer.datasets.short_videos import ShortVideo, clip_frames
from mmadaptformer.utils.video_probe import inspect_video
from .array_inputs import InputKey, input_name
from .frame_folders import FrameFolders
from .infer_files import InferenceInputError
from .test_pipeline import build_test_pipeline

__all__ = ['clip_span', 'short_video_inputs']


def clip_span(cfg: Config, source: str = 'config') -> Optional[int]:
    """The frames one clip of a video config's test pipeline spans (see
    :func:`~mmadaptformer.datasets.short_videos.clip_frames`).

    Args:
        cfg (Config): A model config.
        source (str): How the config is named in errors. Defaults to
            ``'config'``.

    Returns:
        int | None: The frames, or None for an image config or a pipeline
        whose span is not known.
    """
    if cfg.get('default_scope') != 'mmaction':
        return None
    return clip_frames(build_test_pipeline(cfg, 'mmaction', source).transforms)


def short_video_inputs(
    results: Dict[InputKey, dict],
    spans: Dict[str, Optional[int]],
    inputs: Any = None,
    frames: Optional[Dict[str, Optional[FrameFolders]]] = None
) -> List[ShortVideo]:
    """The answered videos shorter than the longest clip of the tasks that
    answered them.

    A file is opened once more to count its frames, as ``DecordInit``
    counts them for the pipeline (``total_frames``); an array (answered
    under its index) has as many frames as its first dimension, as the
    pipeline takes it (:class:`~mmadaptformer.apis.array_inputs.
    ArrayPipeline`), and is named ``inputs[INDEX]``, as the errors about
    it name it (:func:`~mmadaptformer.apis.array_inputs.input_name`). A
    clip's folder of frames, answered by a task whose test pipeline reads
    frames, has the frames that task's naming counts in it
    (:meth:`~mmadaptformer.apis.frame_folders.FrameFolders.count`, as the
    pipeline got them). A file or folder whose frames can no longer be
    counted (cut, rewritten or removed after it was classified) is not
    named as short: a warning says why its length is not known.

    Args:
        results (dict): ``{key: {task: answer}}``, as the engines return
            them; an answer without ``'scores'`` (an error, a skipped
            input) does not count.
        spans (dict): ``{task: frames}`` from :func:`clip_span`.
        inputs (optional): What the engine was called with, for the arrays
            among them. Needed only when ``results`` has an array's index.
            Defaults to None.
        frames (dict, optional): ``{task: FrameFolders or None}`` (see
            :meth:`FrameFolders.of_config
            <mmadaptformer.apis.frame_folders.FrameFolders.of_config>`),
            for the folders of frames among the results. Defaults to None.

    Returns:
        list[tuple]: ``(path or 'inputs[INDEX]', frames, clip frames)``,
        in the order of ``results``.

    Raises:
        ValueError: If ``results`` has an array's index and ``inputs`` is
            not given, or does not hold an array at that index.
    """
    short = []
    for key, answers in results.items():
        answered = [
            name for name, answer in answers.items()
            if spans.get(name) and 'scores' in answer
        ]
        if not answered:
            continue
        clips = max(spans[name] for name in answered)
        naming = next(
            (frames[name]
             for name in answered if frames and frames.get(name) is not None),
            None)
        if isinstance(key, int):
            count = len(_array_at(inputs, key))
        else:
            count = _frames_now(key, naming)
        if count is not None and count < clips:
            short.append((input_name(key), count, clips))
    return short


def _frames_now(path: str, naming: Optional[FrameFolders]) -> Optional[int]:
    """The frames of the answered file or clip folder ``path``, counted
    again; None, with a warning that says why, if they can no longer be
    counted (the file was cut, rewritten or removed after it was read
    whole and classified): its length then is not known, and 0 frames
    would name it as shorter than a clip."""
    if naming is not None and osp.isdir(path):
        try:
            return naming.count(path)
        except InferenceInputError as e:
            why = str(e)
    else:
        info = inspect_video(path, decode_last=False)
        if info.error is None:
            return info.num_frames
        why = info.error
    # The path is said once, first.
    why = why.replace(f'{path}: ', '', 1)
    print_log(
        f'{path}: was classified, but its frames cannot be counted now '
        f'({why.rstrip(".")}); it changed after it was read, so whether it '
        'is shorter than a clip is not known.',
        logger='current',
        level=logging.WARNING)
    return None


def _array_at(inputs: Any, index: int) -> np.ndarray:
    """The array the results key ``index`` names in ``inputs``, as
    :func:`~mmadaptformer.apis.array_inputs.collect_items` keys it."""
    if isinstance(inputs, np.ndarray) and index == 0:
        return inputs  # an array given alone
    if isinstance(inputs, Sequence) and not isinstance(inputs, str) and \
            0 <= index < len(inputs) and \
            isinstance(inputs[index], np.ndarray):
        return inputs[index]
    if inputs is None:
        raise ValueError(
            f'results key {index!r} is the index of an array in the inputs '
            'the engine was called with; give those inputs too '
            '(short_video_inputs(results, spans, inputs)) so that its frames '
            'can be counted.')
    if isinstance(inputs, np.ndarray) or isinstance(inputs, str) or \
            not isinstance(inputs, Sequence):
        held = f'inputs is one {type(inputs).__name__}'
    elif not 0 <= index < len(inputs):
        held = f'inputs has {len(inputs)} items'
    else:
        held = f'inputs[{index}] is a {type(inputs[index]).__name__}'
    raise ValueError(
        f'results key {index!r} is the index of an array in the inputs the '
        f'engine was called with, but {held}; give the inputs the results '
        'are of.')
