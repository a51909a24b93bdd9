# Copyright (c) mmadaptformer contributors. All rights reserved.
# Only the registered datasets and the errors they raise: the
# data-preparation code (``ssv2``, ``hmdb51``, ``food101``, ``cifar100``,
# ``svhn``, ``synthetic_ssv2``) is imported from its own module by the tools
# under ``tools/data``, not by ``import mmadaptformer``.
from mmadaptformer.utils.video_containers import BrokenVideoError
from .annotation_lists import AnnotationError
from .checked_image_dataset import CheckedImageDataset
from .checked_video_dataset import CheckedVideoDataset
from .image_files import BrokenImageError
from .short_videos import ShortVideoError

__all__ = [
    'AnnotationError', 'BrokenImageError', 'BrokenVideoError',
    'CheckedImageDataset', 'CheckedVideoDataset', 'ShortVideoError'
]
