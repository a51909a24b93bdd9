# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Count the videos shorter than a clip that a run's training, validation
and testing met, and name each file once per run."""
import logging
from collections import Counter
from typing import Dict, List, Optional, Sequence, Set, Tuple

from mmengine.dataset import DefaultSampler
from mmengine.dist import all_gather_object
from mmengine.logging import print_log

from mmadaptformer.datasets.short_videos import (SHORT_VIDEOS_KEY,
                                                 SKIPPED_SHORT_VIDEOS_KEY,
                                                 ShortVideo,
                                                 short_videos_notice)

__all__ = ['ShortVideoTally', 'batch_samples']


def batch_samples(data_batch) -> Sequence:
    """The data samples of a dataloader's batch; none where it has no
    sequence under ``'data_samples'``."""
    samples = data_batch.get('data_samples') if isinstance(data_batch,
                                                           dict) else None
    return samples if isinstance(samples, Sequence) else ()


def _eval_positions(loop) -> Optional[Tuple[int, int, int]]:
    """``(rank, world_size, dataset length)`` where ``loop``'s sampler is
    MMEngine's ``DefaultSampler`` padding the dataset to a multiple of the
    world size (``round_up``): sample ``k`` of a rank is at position
    ``rank + k * world_size``, and those from the length on are repeats
    whose results MMEngine drops. None where nothing is padded."""
    sampler = getattr(getattr(loop, 'dataloader', None), 'sampler', None)
    if not isinstance(sampler, DefaultSampler) or not sampler.round_up or \
            sampler.world_size < 2:
        return None
    return sampler.rank, sampler.world_size, len(sampler.dataset)


class ShortVideoTally:
    """The videos shorter than a clip that each loop of a run met, for
    :class:`~.data_health_hook.DataHealthHook`.

    ``CheckedVideoDataset`` (see its ``short_videos``) puts them in a data
    sample's metainfo, under ``'short_videos'`` (used with repeated
    frames) and ``'skipped_short_videos'`` (skipped). Per loop (``mode``:
    ``'train'``, ``'val'`` or ``'test'``) this collects them from each
    batch and, at the end of an epoch or evaluation, sums them over all
    ranks and logs a WARNING that gives their count and names the files
    the run meets for the first time. An evaluation counts each video
    once, not the repeats that pad the dataset for the ranks.
    """

    def __init__(self) -> None:
        # mode -> kind -> short videos met in the current epoch.
        self._short: Dict[str, Dict[str, List[ShortVideo]]] = {}
        # (mode, kind) -> files already reported in this run.
        self._named: Dict[Tuple[str, str], Set[str]] = {}
        # mode -> [_eval_positions of its loop, samples met on this rank].
        self._eval_positions: Dict[str, list] = {}

    def start(self, mode: str, loop=None) -> None:
        """Start the count of an epoch (or evaluation run) of ``mode`` at
        zero; ``loop`` is an evaluation's loop, whose padding repeats are
        not counted."""
        self._short[mode] = {
            SHORT_VIDEOS_KEY: [],
            SKIPPED_SHORT_VIDEOS_KEY: []
        }
        # An evaluation counts each video once: the repeats that pad the
        # dataset for the ranks were counted too ('evaluated 52 videos' of
        # 51, whose 51 results the metric and --dump held).
        self._eval_positions[mode] = [_eval_positions(loop), 0]

    def collect(self, mode: str, data_batch) -> None:
        """Collect the short videos of a batch of ``mode``."""
        short = self._short.setdefault(mode, {
            SHORT_VIDEOS_KEY: [],
            SKIPPED_SHORT_VIDEOS_KEY: []
        })
        positions = self._eval_positions.get(mode)
        for sample in batch_samples(data_batch):
            if positions and positions[0]:
                (rank, world, length), seen = positions
                positions[1] += 1
                if rank + seen * world >= length:
                    continue
            metainfo = getattr(sample, 'metainfo', {})
            for kind, videos in short.items():
                videos.extend(tuple(v) for v in metainfo.get(kind, ()))

    def met(self, mode: str) -> int:
        """How many short videos, used and skipped, this rank met so far
        in the current epoch of ``mode`` (after :meth:`collect`)."""
        return sum(len(videos) for videos in self._short[mode].values())

    def report(self, mode: str, prefix: str, max_names: int) -> int:
        """Sum this epoch's short videos over ranks and log them, naming
        the files not met before in this run; return their count.

        Each rank sends its count and the distinct files it met for the
        first time, so a file is gathered once per run, not every epoch.

        Args:
            mode (str): The loop: ``'train'``, ``'val'`` or ``'test'``.
            prefix (str): What the log lines start with (``'epoch 2'``).
            max_names (int): At most this many files are named per kind.

        Returns:
            int: The count over all ranks, used and skipped.
        """
        short = self._short.get(mode, {})
        local = {}
        for kind in (SHORT_VIDEOS_KEY, SKIPPED_SHORT_VIDEOS_KEY):
            videos = short.get(kind, [])
            met = self._named.setdefault((mode, kind), set())
            local[kind] = (len(videos), {v for v in videos if v[0] not in met})
        totals: Dict[str, int] = Counter()
        new_videos: Dict[str,
                         Set[ShortVideo]] = {kind: set()
                                             for kind in local}
        for gathered in all_gather_object(local):
            for kind, (count, new) in gathered.items():
                totals[kind] += count
                new_videos[kind].update(new)
        for kind, count in totals.items():
            self._named[(mode, kind)].update(v[0] for v in new_videos[kind])
            if count:
                _log_short(mode, prefix, kind, count, new_videos[kind],
                           max_names)
        return sum(totals.values())


def _log_short(mode: str, prefix: str, kind: str, count: int,
               new: Set[ShortVideo], max_names: int) -> None:
    if kind == SHORT_VIDEOS_KEY:
        verb = 'trained on' if mode == 'train' else 'evaluated'
        what = short_videos_notice(verb, count, new, max_names)
    else:
        what = short_videos_notice(
            'skipped', count, new, max_names, repeated=False)
    print_log(f'{prefix}: {what}', logger='current', level=logging.WARNING)
