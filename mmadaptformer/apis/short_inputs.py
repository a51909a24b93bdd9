# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Inputs shorter than a clip: videos with fewer frames than one clip of a
task's test pipeline spans.

They are classified with repeated frames (the sampler loops or repeats
them), as ``tools/test.py`` evaluates them; the test set names them
(``DataHealthHook``), and :func:`short_video_inputs` finds them among the
answered inputs of inference so that the tools can name them the same way
(:func:`~mmadaptformer.datasets.short_videos.short_videos_notice`).
"""
from typing import Dict, List, Optional

from mmengine.config import Config

from mmadaptformer.datasets.short_videos import ShortVideo, clip_frames
from mmadaptformer.utils.video_containers import inspect_video
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


def short_video_inputs(results: Dict[str, dict],
                       spans: Dict[str, Optional[int]]) -> List[ShortVideo]:
    """The answered videos shorter than the longest clip of the tasks that
    answered them.

    Each is opened once more to count its frames, as ``DecordInit`` counts
    them for the pipeline (``total_frames``).

    Args:
        results (dict): ``{path: {task: answer}}``, as the engines return
            them; an answer with ``'error'`` does not count.
        spans (dict): ``{task: frames}`` from :func:`clip_span`.

    Returns:
        list[tuple]: ``(path, frames, clip frames)``, in the order of
        ``results``.
    """
    short = []
    for path, answers in results.items():
        clips = [
            spans[name] for name, answer in answers.items()
            if spans.get(name) and 'error' not in answer
        ]
        if clips:
            frames = inspect_video(path, decode_last=False).num_frames
            if frames < max(clips):
                short.append((path, frames, max(clips)))
    return short
