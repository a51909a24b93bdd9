# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Count the broken videos that training skipped, per epoch."""
import logging
from collections import Counter
from typing import List, Optional, Sequence

import torch
from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.dist import all_gather_object, all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from mmadaptformer.datasets.checked_video_dataset import SKIPPED_VIDEOS_KEY

__all__ = ['DataHealthHook']


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class DataHealthHook(Hook):
    """Log how many broken videos each training epoch skipped, and which.

    ``CheckedVideoDataset`` replaces a broken video by another sample in a
    dataloader worker, a separate process; the skipped files travel with
    the sample that replaced them, in its data sample's metainfo under
    ``'skipped_videos'``. This hook sums them over the iterations of an
    epoch and over all ranks, and at the end of the epoch logs
    ``epoch N: skipped K broken videos (names)`` (a WARNING when K > 0)
    and stores K in the message hub as ``train/skipped_videos``. A video
    skipped twice counts twice.

    Used with the video recipes of `AdaptFormer
    <https://arxiv.org/abs/2205.13535>`_.

    Args:
        max_names (int): At most this many file names are logged per epoch.
            Defaults to 20.

    Examples:
        >>> custom_hooks = [dict(type='DataHealthHook')]
    """

    priority = 'NORMAL'

    def __init__(self, max_names: int = 20) -> None:
        if max_names < 0:
            raise ValueError(
                f'DataHealthHook: max_names must be >= 0, got {max_names}')
        self.max_names = max_names
        self._skipped: List[str] = []

    def before_train_epoch(self, runner) -> None:
        """Start the epoch's count at zero."""
        self._skipped = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Collect the videos skipped for this batch's samples."""
        samples = data_batch.get('data_samples') if isinstance(
            data_batch, dict) else None
        if not isinstance(samples, Sequence):
            return
        for sample in samples:
            metainfo = getattr(sample, 'metainfo', {})
            self._skipped.extend(metainfo.get(SKIPPED_VIDEOS_KEY, ()))

    def after_train_epoch(self, runner) -> None:
        """Sum the epoch's skips over ranks, log them and record the
        count in the message hub."""
        count = torch.tensor(len(self._skipped), dtype=torch.int64)
        all_reduce(count)  # no-op when not distributed
        total = int(count.item())
        counts: Counter = Counter()
        for names in all_gather_object(self._local_names()):
            counts.update(dict(names))
        runner.message_hub.update_scalar('train/skipped_videos', total)
        if total == 0:
            print_log(
                f'epoch {runner.epoch + 1}: skipped 0 broken videos',
                logger='current')
            return
        listed = ', '.join(name if n == 1 else f'{name} x{n}'
                           for name, n in counts.most_common(self.max_names))
        more = len(counts) - self.max_names
        if more > 0:
            listed += f', ... and {more} more files'
        print_log(
            f'epoch {runner.epoch + 1}: skipped {total} broken videos '
            f'({listed})',
            logger='current',
            level=logging.WARNING)

    def _local_names(self) -> List[tuple]:
        """This rank's most skipped files with their counts, at most
        ``max_names`` so that the gather stays small."""
        return Counter(self._skipped).most_common(self.max_names)
