# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``CheckedVideoDataset`` over the ``video_files`` fixture's videos with
the tiny video config's pipelines, and its warnings: shared by the
``test_checked_video_*`` files."""
import logging

from helpers import TINY_VIDEO_CONFIG
from mmengine.config import Config

from mmadaptformer.datasets import CheckedVideoDataset


def tiny_pipeline(split: str = 'train_pipeline') -> list:
    """The tiny video config's ``split`` pipeline, a fresh copy."""
    return Config.fromfile(TINY_VIDEO_CONFIG)[split]


def build_checked(ann_file, files, **kwargs) -> CheckedVideoDataset:
    """The dataset of ``ann_file`` in ``files['videos']``; the tiny train
    pipeline unless ``pipeline`` is given."""
    kwargs.setdefault('pipeline', tiny_pipeline())
    return CheckedVideoDataset(
        ann_file=ann_file, data_prefix=dict(video=files['videos']), **kwargs)


def dataset_warnings(records) -> list:
    """The WARNING messages of ``CheckedVideoDataset`` among ``records``
    (not mmengine's own, such as its FileClient deprecation)."""
    return [
        r.getMessage() for r in records if r.levelno == logging.WARNING
        and r.getMessage().startswith('CheckedVideoDataset')
    ]
