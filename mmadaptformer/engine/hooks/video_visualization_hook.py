# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Draw one view of each test video with its predicted and true label."""
import importlib.util
import math
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from mmaction.engine.hooks import VisualizationHook
from mmaction.registry import HOOKS, VISBACKENDS
from mmengine.dist import is_main_process
from mmpretrain.utils import get_ori_model

from mmadaptformer.utils.frame_text import draw_frame_text
from .strict_evaluation import wrapped_datasets

__all__ = ['VideoVisualizationHook', 'first_view_frames', 'nchw_view_frames']

_OUT_TYPES = ('img', 'gif', 'video')


def first_view_frames(video: torch.Tensor,
                      format_shape: Optional[str] = None,
                      clip_len: Optional[int] = None) -> np.ndarray:
    """The frames of the first view (clip x crop) of one packed sample.

    ``PackActionInputs`` packs a sample as ``(views, C, T, H, W)`` for
    ``FormatShape(input_format='NCTHW')`` and as ``(views * T, C, H, W)``
    for ``'NCHW'``; the first clip of the first crop comes first in both.
    The values are the pipeline's pixels: MMAction2's data preprocessor
    normalises (and reorders channels of) a copy inside ``test_step``, so
    the batch hooks see is not normalised.

    Args:
        video (torch.Tensor): One sample of ``data_batch['inputs']``.
        format_shape (str, optional): The data preprocessor's
            ``format_shape`` (``'NCTHW'``, ``'NCHW'``, ``'MIX2d3d'``); None
            tells the layout from the number of dimensions. Defaults to
            None.
        clip_len (int, optional): Frames of the first view, for
            ``'NCHW'`` samples: the first ``clip_len`` frames are drawn.
            None draws all frames. Defaults to None.

    Returns:
        np.ndarray: ``(T, H, W, 3)`` uint8 frames, channels as decoded
        (RGB for decord and MMAction2's frame decoders).

    Raises:
        ValueError: If the sample is neither layout, or has neither 1 nor 3
            channels (optical flow, pose heatmaps), naming its shape.
    """
    shape = tuple(video.shape)
    if format_shape in ('NCTHW', 'NCHW') and \
            video.ndim != (5 if format_shape == 'NCTHW' else 4):
        raise ValueError(
            f'a {format_shape} sample has {len(format_shape)} dimensions '
            f'(views, ...), got shape {shape}')
    if video.ndim == 5:  # (views, C, T, H, W)
        frames = video[0].permute(1, 2, 3, 0)
    elif video.ndim == 4:  # (views * T, C, H, W)
        frames = video[:clip_len] if clip_len else video
        frames = frames.permute(0, 2, 3, 1)
    else:
        raise ValueError(
            'VideoVisualizationHook draws samples of shape (views, C, T, H, '
            f'W) or (frames, C, H, W), got shape {shape}')
    channels = frames.shape[-1]
    if channels not in (1, 3):
        raise ValueError(
            f'VideoVisualizationHook draws 1- or 3-channel frames, got '
            f'{channels} channels in a sample of shape {shape} '
            f'(format_shape={format_shape!r})')
    frames = frames.detach().float().cpu().round().clamp(0, 255)
    frames = frames.to(torch.uint8).numpy()
    if channels == 1:
        frames = np.repeat(frames, 3, axis=-1)
    return np.ascontiguousarray(frames)


#: Crops a test transform makes of each frame, by class name.
_CROPS = {'ThreeCrop': 3, 'TenCrop': 10}


def nchw_view_frames(dataset) -> Optional[int]:
    """Frames of the first crop of an ``'NCHW'`` sample of ``dataset``
    (2D recognizers such as TSN): ``clip_len x num_clips`` of its frame
    sampler, the first crop's frames coming first (``ThreeCrop`` and
    ``TenCrop`` stack crop after crop). None where the pipeline has no
    sampler with both (all frames are drawn then).

    Args:
        dataset: The loop's dataset; wrappers are looked through (the
            first dataset with a pipeline is read).

    Returns:
        int | None: The number of frames of one crop.
    """
    dataset = next((inner for _, inner in wrapped_datasets(dataset, '')
                    if hasattr(inner, 'pipeline')), None)
    transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms', ())
    sampler = next(
        (t
         for t in transforms if isinstance(getattr(t, 'clip_len', None), int)
         and isinstance(getattr(t, 'num_clips', None), int)), None)
    if sampler is None:
        return None
    return sampler.clip_len * sampler.num_clips


def _labels(values: torch.Tensor,
            classes: Optional[Sequence[str]],
            scores: Optional[torch.Tensor] = None) -> str:
    """``'1 (class name), 0.73'`` for each label in ``values``."""
    names = []
    for index in torch.as_tensor(values).flatten().tolist():
        index = int(index)
        name = str(index)
        if classes is not None and 0 <= index < len(classes):
            name += f' ({classes[index]})'
        if scores is not None and 0 <= index < scores.numel():
            name += f', {float(scores.flatten()[index]):.2f}'
        names.append(name)
    return '; '.join(names)


@HOOKS.register_module()
class VideoVisualizationHook(VisualizationHook):
    """Save (or show) one view of each ``interval``-th validation or test
    video, every frame marked with its predicted and true label.

    MMAction2 1.2's :class:`~mmaction.engine.hooks.VisualizationHook` fails
    on every batch of a multi-view test pipeline (it permutes a
    ``(views, C, T, H, W)`` sample as ``(C, T, H, W)``, open-mmlab/mmaction2
    PR 2697), passes ``show`` where ``ActionVisualizer`` takes
    ``show_frames``, and the visualizer reads ``gt_labels`` /
    ``pred_labels`` where ``ActionDataSample`` holds ``gt_label`` /
    ``pred_label``, so no label is drawn. This subclass draws the first
    view (first clip, first crop) of ``(views, C, T, H, W)`` samples and
    the first crop of every clip of ``(frames, C, H, W)`` ones (2D
    recognizers, :func:`nchw_view_frames`) itself, and saves the frames as
    ``ActionVisualizer.add_datasample(out_path=...)`` does:
    ``out_dir/<name>_<step>/frames_<step>/<frame>.png`` (``out_type='img'``),
    or ``<name>_<step>.gif`` / ``.mp4`` (needs ``moviepy``). Without
    ``out_dir`` the frames go to the visualizer's backends. Only the main
    process draws, as with ``ActionVisualizer``. Made for AdaptFormer's
    video recipes (arXiv 2205.13535); ``tools/test.py --show-dir`` enables
    it.

    Args:
        enable (bool): Whether to draw. Defaults to False.
        interval (int): Draw every ``interval``-th sample. Defaults to 5000.
        show (bool): Show the frames in a window. Defaults to False.
        out_dir (str, optional): The folder to save the frames in; None
            uses the visualizer's backends. Defaults to None.
        wait_time (float): Seconds the last frame of a shown video stays.
            Defaults to 0.1.
        out_type (str): ``'img'`` (PNG frames), ``'gif'`` or ``'video'``.
            Defaults to ``'img'``.
        fps (int): Frames per second of shown and saved videos.
            Defaults to 4.
        draw_gt (bool): Write the true label. Defaults to True.
        draw_pred (bool): Write the predicted label and its score.
            Defaults to True.

    Examples:
        >>> default_hooks = dict(
        ...     visualization=dict(type='VideoVisualizationHook',
        ...                        enable=False))
    """

    def __init__(self,
                 enable: bool = False,
                 interval: int = 5000,
                 show: bool = False,
                 out_dir: Optional[str] = None,
                 wait_time: float = 0.1,
                 out_type: str = 'img',
                 fps: int = 4,
                 draw_gt: bool = True,
                 draw_pred: bool = True) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int) or \
                interval < 1:
            raise ValueError('VideoVisualizationHook: interval must be a '
                             f'positive int, got {interval!r}')
        if out_type not in _OUT_TYPES:
            raise ValueError(f'VideoVisualizationHook: out_type must be one '
                             f'of {_OUT_TYPES}, got {out_type!r}')
        if out_type != 'img' and importlib.util.find_spec('moviepy') is None:
            raise ImportError(
                f'VideoVisualizationHook: out_type={out_type!r} writes with '
                "moviepy, which is not installed; use out_type='img' (PNG "
                'frames) or install moviepy.')
        if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
            raise ValueError('VideoVisualizationHook: fps must be a positive '
                             f'int, got {fps!r}')
        # The parent's FileClient is deprecated in MMEngine; the frames are
        # written by a local backend, as ActionVisualizer does.
        super().__init__(enable=enable, interval=interval, show=show)
        self.out_dir = out_dir
        self.wait_time = wait_time
        self.out_type = out_type
        self.fps = fps
        self.draw_gt = draw_gt
        self.draw_pred = draw_pred
        self._format_shape: Optional[str] = None
        # Frames of one crop of an 'NCHW' sample (the loop's pipeline).
        self._view_frames: Optional[int] = None
        self._backend = None
        # The loop's index of the next batch's first sample: batch_idx x
        # the batch size is wrong for a last batch that is smaller.
        self._next_sample = 0

    def _start_loop(self, runner, loop) -> None:
        self._next_sample = 0
        model = get_ori_model(runner.model)
        preprocessor = getattr(model, 'data_preprocessor', None)
        self._format_shape = getattr(preprocessor, 'format_shape', None)
        self._view_frames = nchw_view_frames(
            getattr(getattr(loop, 'dataloader', None), 'dataset', None))

    def before_val(self, runner) -> None:
        """Count the samples from 0; read the layout of the samples from
        the data preprocessor and the loop's pipeline."""
        self._start_loop(runner, runner.val_loop)

    def before_test(self, runner) -> None:
        """Count the samples from 0; read the layout of the samples from
        the data preprocessor and the loop's pipeline."""
        self._start_loop(runner, runner.test_loop)

    def _text(self, data_sample) -> str:
        classes = (self._visualizer.dataset_meta or {}).get('classes')
        lines = []
        if self.draw_pred and 'pred_label' in data_sample:
            lines.append('pred: ' + _labels(data_sample.pred_label, classes,
                                            data_sample.get('pred_score')))
        if self.draw_gt and 'gt_label' in data_sample:
            lines.append('true: ' + _labels(data_sample.gt_label, classes))
        return '\n'.join(lines)

    def _draw_frames(self, frames: np.ndarray, text: str) -> np.ndarray:
        return np.stack([
            draw_frame_text(self._visualizer, frame, text) for frame in frames
        ])

    def _save(self, name: str, drawn: np.ndarray, step: int) -> None:
        if self.out_dir is not None:
            if self._backend is None:
                self._backend = VISBACKENDS.build(
                    dict(type='LocalVisBackend', save_dir=self.out_dir))
            self._backend.add_video(
                f'{name}_{step}',
                drawn,
                step=step,
                fps=self.fps,
                out_type=self.out_type)
        elif hasattr(self._visualizer, 'add_video'):
            self._visualizer.add_video(
                name, drawn, step=step, fps=self.fps, out_type=self.out_type)
        if self.show:
            for index, frame in enumerate(drawn):
                last = index == len(drawn) - 1
                self._visualizer.show(
                    frame,
                    win_name=f'frame {index + 1} of {name}',
                    wait_time=self.wait_time if last else 1. / self.fps)

    def _draw_samples(self,
                      batch_idx: int,
                      data_batch: dict,
                      data_samples: Sequence,
                      step: int = 0) -> None:
        """Draw every ``interval``-th sample of a batch.

        The samples are numbered in the order the loop met them, so a last
        batch smaller than the others continues the count.

        Args:
            batch_idx (int): The index of the batch in the loop (unused:
                the count of the samples met is kept).
            data_batch (dict): The batch from the dataloader.
            data_samples (Sequence[ActionDataSample]): The model's outputs.
            step (int): The step the files are named after. Defaults to 0.
        """
        start = self._next_sample
        end = start + len(data_samples)
        self._next_sample = end
        if not self.enable or not is_main_process():
            return
        videos = data_batch['inputs']
        first = math.ceil(start / self.interval) * self.interval
        for sample_id in range(first, end, self.interval):
            data_sample = data_samples[sample_id - start]
            frames = first_view_frames(
                videos[sample_id - start], self._format_shape,
                data_sample.metainfo.get('clip_len') or self._view_frames)
            if 'filename' in data_sample:
                name = osp.basename(data_sample.get('filename'))
            elif 'frame_dir' in data_sample:
                name = osp.basename(data_sample.get('frame_dir'))
            else:
                name = str(sample_id)
            drawn = self._draw_frames(frames, self._text(data_sample))
            self._save(name, drawn, step)
