# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Draw the predictions of inference on its inputs (``--show-dir``).

Each input that was answered gets one file in the folder: a video (or a
clip's folder of frames) an ``.mp4`` of all its frames, as decoded from
the file and at its frame rate, with each task's top-k classes and scores
written on every frame; an image a ``.png`` of the image with them. The
frames are the original ones, not the test pipeline's first view: as
MMAction2's ``ActionRecogInferencer(vid_out_dir=...)`` and
``demo/demo.py --out-filename`` draw them, the user sees the whole video
at its own size, and every task of a multi-task run is drawn on the same
frames (their pipelines may crop differently). The videos are written by
OpenCV as MPEG-4 Part 2 (``mp4v``), the one MP4 codec a stock OpenCV
writes (MMAction2's own writers need ``moviepy``): VLC, mpv and FFmpeg
play it, most browsers do not.

The drawing is MMAction2's ``ActionVisualizer`` (videos) and MMPretrain's
``UniversalVisualizer`` (images), with the text style of ``tools/test.py
--show-dir`` (:func:`~mmadaptformer.utils.frame_text.draw_frame_text`); a
video's text is drawn once and blended onto each frame
(:class:`~mmadaptformer.utils.frame_text.TextOverlay`).
"""
import logging
import os
import os.path as osp
from collections import OrderedDict
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import cv2
import mmcv
import numpy as np
from mmengine.logging import print_log

from mmadaptformer.utils.frame_text import TextOverlay, draw_frame_text
from mmadaptformer.utils.video_containers import one_line_error
from mmadaptformer.utils.video_writer import FOURCC
from .array_inputs import InputKey, input_name
from .frame_folders import FrameFolders
from .show_dir import VIDEO_SUFFIX, show_paths

__all__ = [
    'top_classes', 'prediction_text', 'draw_results', 'log_report',
    'draw_and_report'
]


def top_classes(answer: Mapping, classes: Optional[Sequence[str]],
                k: int) -> List[Tuple[str, float]]:
    """The ``k`` best ``(class name, score)`` of one task's answer, best
    first; a label without a name is named by its index.

    Args:
        answer (dict): ``{"label", "class", "scores"}``, as the engines
            answer (not an error).
        classes (Sequence[str], optional): The task's class names.
        k (int): How many.
    """
    scores = answer['scores']
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
    return [(classes[i] if classes and i < len(classes) else str(i), scores[i])
            for i in order]


def prediction_text(answers: Mapping, classes: Mapping[str, Any],
                    k: int) -> str:
    """The text drawn on one input: for each task that answered it, its
    name and its ``k`` best classes with their scores, one a line; ``''``
    if none answered.

    Args:
        answers (dict): ``{task: answer}``, one input's results.
        classes (dict): ``{task: class names or None}``.
        k (int): Classes per task.
    """
    lines = []
    for task, answer in answers.items():
        if not isinstance(answer, Mapping) or 'scores' not in answer:
            continue  # the task failed on this input: nothing to say
        lines.append(f'{task}:')
        lines += [
            f'  {name} ({score:.2f})'
            for name, score in top_classes(answer, classes.get(task), k)
        ]
    return '\n'.join(lines)


def _visualizer(video: bool):
    """The toolbox's visualizer, one per process and kind."""
    if video:
        from mmaction.visualization import ActionVisualizer
        return ActionVisualizer.get_instance('mmadaptformer_show_video')
    from mmpretrain.visualization import UniversalVisualizer
    return UniversalVisualizer.get_instance('mmadaptformer_show_image')


def _video_frames(source: Any, frames: Optional[FrameFolders]):
    """The frame rate and an iterator of ``H x W x 3`` uint8 RGB frames
    of a video file, a clip's folder of frames or a ``T x H x W x 3``
    RGB array."""
    if isinstance(source, np.ndarray):
        return 8., iter(source)
    if osp.isdir(source):
        if frames is None:
            raise ValueError(f'{source}: a folder, but the model reads no '
                             'folders of frames.')
        count = frames.count(source)

        def read():
            for index in range(frames.start_index, frames.start_index + count):
                path = osp.join(source, frames.frame_name(index))
                yield mmcv.imread(path, channel_order='rgb')

        return 8., read()
    import decord
    try:
        reader = decord.VideoReader(source, num_threads=1)
    except Exception as e:  # decord's DECORDError is no RuntimeError
        raise RuntimeError(
            f'the video cannot be opened ({one_line_error(e)})') from e

    def decode():
        for index in range(len(reader)):
            try:
                yield reader[index].asnumpy()
            except Exception as e:  # decord raises its own DECORDError
                raise RuntimeError(
                    f'frame {index} of {len(reader)} cannot be decoded '
                    f'({type(e).__name__}: {str(e).splitlines()[0]})') from e

    return float(reader.get_avg_fps() or 8.), decode()


def _write_video(path: str, fps: float, frames, text: str) -> None:
    """Draw ``text`` on each frame and encode them to ``path`` (written
    to a temporary name and renamed, so that a failure leaves no partial
    file)."""
    temp = osp.join(osp.dirname(path), f'.{osp.basename(path)}.part.mp4')
    writer = None
    try:
        for index, frame in enumerate(frames):
            if writer is None:
                height, width = frame.shape[:2]
                overlay = TextOverlay(
                    _visualizer(video=True), height, width, text)
                writer = cv2.VideoWriter(
                    temp, cv2.VideoWriter_fourcc(*FOURCC[VIDEO_SUFFIX]), fps,
                    (width, height))
                if not writer.isOpened():
                    raise RuntimeError(
                        f'OpenCV could not open an {FOURCC[VIDEO_SUFFIX]} '
                        f'writer for {temp}')
            if frame.shape != overlay.shape:
                raise RuntimeError(
                    f'frame {index} is {frame.shape[1]} x {frame.shape[0]} '
                    f'pixels, the first {width} x {height}; a video\'s '
                    'frames are of one size')
            writer.write(cv2.cvtColor(overlay(frame), cv2.COLOR_RGB2BGR))
        if writer is None:
            raise RuntimeError('no frame to draw')
        writer.release()
        os.replace(temp, path)
    finally:
        if writer is not None:
            writer.release()
        if osp.exists(temp):
            os.remove(temp)


def _write_image(path: str, source: Any, text: str) -> None:
    """Draw ``text`` on an image file or ``H x W x 3`` BGR array and
    save it as a PNG at ``path``."""
    image = source if isinstance(source, np.ndarray) else mmcv.imread(source)
    if image is None:
        raise RuntimeError('the image cannot be read')
    drawn = draw_frame_text(
        _visualizer(video=False), np.ascontiguousarray(image[..., ::-1]), text)
    temp = osp.join(osp.dirname(path), f'.{osp.basename(path)}.part.png')
    try:
        if not cv2.imwrite(temp, cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)):
            raise RuntimeError(f'OpenCV could not write {temp}')
        os.replace(temp, path)
    finally:
        if osp.exists(temp):
            os.remove(temp)


def _naming_of(
    answers: Mapping, frames: Union[None, FrameFolders,
                                    Mapping[str, Optional[FrameFolders]]]
) -> Optional[FrameFolders]:
    """How the tasks that answered one input read a clip's folder: the
    naming given for all, or that of the first task in ``answers`` that
    answered it and reads frames."""
    if frames is None or isinstance(frames, FrameFolders):
        return frames
    return next(
        (frames[task]
         for task, answer in answers.items() if isinstance(answer, Mapping)
         and 'scores' in answer and frames.get(task) is not None), None)


def draw_results(
    results: Mapping[InputKey, Mapping],
    classes: Mapping[str, Any],
    show_dir: str,
    topk: int = 3,
    kind: str = 'video',
    frames: Union[None, FrameFolders, Mapping[str,
                                              Optional[FrameFolders]]] = None,
    sources: Optional[Mapping[InputKey, Any]] = None
) -> Tuple[Dict[InputKey, str], Dict[InputKey, str]]:
    # yapf: disable
    """Draw each answered input's predictions into ``show_dir``.

    An input that failed (``{"error": ...}``), or that no task answered,
    draws nothing. ``show_dir`` is made, and the folders in it.

    Args:
        results (dict): ``{key: {task: answer}}``, as the engines return
            them.
        classes (dict): ``{task: class names or None}``.
        show_dir (str): The folder.
        topk (int): Classes drawn per task. Defaults to 3.
        kind (str): ``'video'`` or ``'image'``, what the model
            classifies. Defaults to ``'video'``.
        frames (FrameFolders | dict, optional): How a clip's folder names
            its frames, for a model that reads them; for several tasks,
            ``{task: FrameFolders or None}``, a folder's frames named as
            the first task that answered it names them (two rawframe
            tasks' test sets may name them differently). Defaults to None.
        sources (dict, optional): ``{key: array or path}``, what each
            input is drawn from (an array given as an input); a key not in
            it is a path. Defaults to None.

    Returns:
        tuple[dict, dict]: ``{key: path}`` of the drawings written, and
        ``{key: message}`` of the answered inputs that could not be drawn
        (a video frame that does not decode, a file that cannot be
        written).
    """
    paths = show_paths(results, show_dir, kind)
    os.makedirs(show_dir, exist_ok=True)
    written: Dict[InputKey, str] = OrderedDict()
    failed: Dict[InputKey, str] = OrderedDict()
    for key, answers in results.items():
        text = prediction_text(answers, classes, topk)
        if 'error' in answers or not text:
            continue
        source = (sources or {}).get(key, key)
        path = paths[key]
        try:
            os.makedirs(osp.dirname(path), exist_ok=True)
            if path.endswith(VIDEO_SUFFIX):
                fps, video = _video_frames(source,
                                           _naming_of(answers, frames))
                _write_video(path, fps, video, text)
            else:
                _write_image(path, source, text)
        except (OSError, RuntimeError, ValueError) as e:
            failed[key] = (f'{input_name(key)}: cannot be drawn to {path} '
                           f'({type(e).__name__}: {e})')
            continue
        written[key] = path
    return written, failed


def log_report(level: int, line: str) -> None:
    """Say ``line`` through MMEngine's current logger at ``level``."""
    print_log(line, logger='current', level=level)


def draw_and_report(results: Mapping[InputKey, Mapping],
                    classes: Mapping[str, Any],
                    show_dir: str,
                    topk: int = 3,
                    kind: str = 'video',
                    frames: Union[None, FrameFolders,
                                  Mapping[str, Optional[FrameFolders]]] = None,
                    sources: Optional[Mapping[InputKey, Any]] = None,
                    report: Callable[[int, str], None] = log_report,
                    count_all: bool = True
                    ) -> Tuple[Dict[InputKey, str], Dict[InputKey, str]]:
    """:func:`draw_results`, then say what became of the drawings.

    ``report(logging.WARNING, message)`` is called for each answered input
    that could not be drawn, then ``report(logging.INFO, line)`` with
    ``'Drawings of N of M inputs written to DIR'`` (M: all the results),
    or ``'Drawings of N inputs written to DIR'`` without ``count_all``.

    Args:
        results, classes, show_dir, topk, kind, frames, sources: As for
            :func:`draw_results`.
        report (Callable): Says a line at a logging level. Defaults to
            :func:`log_report` (MMEngine's current logger).
        count_all (bool): Say how many results there were. Defaults to
            True.

    Returns:
        tuple[dict, dict]: As :func:`draw_results` returns them.
    """
    written, failed = draw_results(results, classes, show_dir, topk, kind,
                                   frames, sources)
    for message in failed.values():
        report(logging.WARNING, message)
    total = len(results) if count_all else len(written)
    of_all = f'{len(written)} of ' if count_all else ''
    report(
        logging.INFO, f'Drawings of {of_all}{total} '
        f'{"input" if total == 1 else "inputs"} written to {show_dir}')
    return written, failed
