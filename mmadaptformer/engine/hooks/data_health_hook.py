# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Count the broken images and videos, and the too-short videos, that
training and evaluation met, per epoch."""
import functools
import logging
from collections import Counter
from typing import Callable, FrozenSet, List, Optional, Sequence

import torch
from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.dist import all_gather_object, all_reduce
from mmengine.hooks import Hook, LoggerHook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from mmadaptformer.datasets.checked_image_dataset import CheckedImageDataset
from mmadaptformer.datasets.checked_video_dataset import CheckedVideoDataset
from mmadaptformer.datasets.short_videos import (SHORT_VIDEOS_KEY,
                                                 SKIPPED_SHORT_VIDEOS_KEY)
from mmadaptformer.datasets.training_refetch import (SKIPPED_IMAGES_KEY,
                                                     SKIPPED_VIDEOS_KEY)
from .registration import registered_again
from .short_video_tally import ShortVideoTally, batch_samples
from .strict_evaluation import check_strict_evaluation, wrapped_datasets

__all__ = ['DataHealthHook']

#: What MMEngine's Runner calls on a hook (``Hook.stages``, and the
#: helpers ``Hook``'s own stage methods call), but ``before_run``, which
#: tells whether another DataHealthHook came first.
_GUARDED = tuple(stage for stage in Hook.stages if stage != 'before_run') + (
    '_before_epoch', '_after_epoch', '_before_iter', '_after_iter')


def _unless_repeated(method: Callable) -> Callable:
    """Run a hook method unless another DataHealthHook of the run came
    first (it would check and count everything again)."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        if getattr(self, '_repeated', False):
            return None
        return method(self, *args, **kwargs)

    return run


def _guard_stages(cls: type) -> type:
    """Make every hook method that ``cls`` itself defines (of
    :data:`_GUARDED`) do nothing in a run where another DataHealthHook came
    first. Applied to :class:`DataHealthHook` and, by its
    ``__init_subclass__``, to each subclass, so that a hook method added
    later is guarded without being marked: one marked by hand that was
    forgotten ran twice."""
    for name in _GUARDED:
        method = cls.__dict__.get(name)
        if callable(method):
            setattr(cls, name, _unless_repeated(method))
    return cls


# The metainfo keys of skipped files, and the files they name.
_BROKEN_FILES = ((SKIPPED_VIDEOS_KEY, 'video'), (SKIPPED_IMAGES_KEY, 'image'))
# Which keys of a sample's metainfo tell that the run counts the files of
# a key of _BROKEN_FILES: a short video is a video too.
_CARRIED = {
    SKIPPED_VIDEOS_KEY:
    (SKIPPED_VIDEOS_KEY, SHORT_VIDEOS_KEY, SKIPPED_SHORT_VIDEOS_KEY),
    SKIPPED_IMAGES_KEY: (SKIPPED_IMAGES_KEY, )
}


def _logged(runner, batch_idx: int) -> bool:
    """Whether MMEngine's ``LoggerHook`` prints (and writes to
    ``scalars.json``) training iteration ``batch_idx``, as its
    ``after_train_iter`` decides; True for a runner without hooks."""
    hooks = getattr(runner, 'hooks', None)
    if hooks is None:
        return True
    logger = next((h for h in hooks if isinstance(h, LoggerHook)), None)
    return logger is not None and (
        logger.every_n_inner_iters(batch_idx, logger.interval)
        or logger.end_of_epoch(runner.train_dataloader, batch_idx))


def _counted_kinds(runner) -> FrozenSet[str]:
    """The metainfo keys of the skipped files a training run counts, from
    its training dataset (wrapped ones too): ``'skipped_images'`` for a
    ``CheckedImageDataset``, ``'skipped_videos'`` for a
    ``CheckedVideoDataset``; empty for a dataset without either (one of
    mmaction2 or mmpretrain, which skips nothing) and without a training
    dataset."""
    dataset = getattr(
        getattr(runner, 'train_dataloader', None), 'dataset', None)
    if dataset is None:
        return frozenset()
    kinds = set()
    for _, inner in wrapped_datasets(dataset, 'train_dataloader.dataset'):
        if isinstance(inner, CheckedImageDataset):
            kinds.add(SKIPPED_IMAGES_KEY)
        elif isinstance(inner, CheckedVideoDataset):
            kinds.add(SKIPPED_VIDEOS_KEY)
    return frozenset(kinds)


def _files(count: int, kind: str, noun: str) -> str:
    """``'1 broken image'``, ``'2 broken videos'``."""
    return f'{count} {kind} {noun}' + ('' if count == 1 else 's')


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
@_guard_stages
class DataHealthHook(Hook):
    """Log how many broken images or videos, and too-short videos, each
    training epoch met, and which.

    ``CheckedVideoDataset`` replaces a broken video by another sample in a
    dataloader worker, a separate process; the skipped files travel with
    the sample that replaced them, in its data sample's metainfo under
    ``'skipped_videos'``. This hook sums them over the iterations of an
    epoch and over all ranks, and at the end of the epoch logs
    ``epoch N: skipped K broken videos (names)`` (a WARNING when K > 0)
    and stores K in the message hub as ``train/skipped_videos``. A video
    skipped twice counts twice. ``CheckedImageDataset``'s broken images
    travel under ``'skipped_images'`` and are counted the same way, as
    ``epoch N: skipped K broken images (names)`` and
    ``train/skipped_images``.

    Which counters a run records (and MMEngine's iteration log lines
    show) follows from its training dataset, wrapped ones too: only the
    images' over ``CheckedImageDataset``, only the videos' (broken and
    short) over ``CheckedVideoDataset``. Another dataset (mmaction2's
    ``VideoDataset`` or ``RawframeDataset``, one of mmpretrain) skips
    nothing, so it counts nothing: no ``epoch N: skipped 0 broken videos``
    line and no counter, until a sample carries ``'skipped_videos'`` or
    ``'skipped_images'`` (a dataset of the user's that skips files too).
    A run without a training dataset (a train loop whose dataloader has
    none) is decided the same way, by what its samples carry.

    Videos shorter than a clip (see ``CheckedVideoDataset``'s
    ``short_videos``) travel the same way, under ``'short_videos'`` (used
    with repeated frames) and ``'skipped_short_videos'`` (skipped). When an
    epoch met any, a WARNING gives their count and names the files, with
    their frames, that the run meets for the first time (at most
    ``max_names``, then ``... and N more files``): so all of them at the
    first epoch, and later only new ones. The count of the epoch, used and
    skipped, goes to the message hub as ``train/short_videos``. Short
    videos used in validation and testing are reported the same way at
    the end of each run of the loop, as ``val: ...`` and ``test: ...``.

    During an epoch both scalars are the epoch's running counts over all
    ranks, from 0 at its start, updated on the iterations the
    ``LoggerHook`` prints: MMEngine's iteration log lines (and
    ``scalars.json``) show every ``train/`` scalar of the message hub, so
    ``[2][1/2] ... skipped_videos: 3`` then means 3 skipped so far in
    epoch 2, not the previous epoch's total. The last iteration of an
    epoch shows its total.

    Evaluation must not swap samples: before training, validation and
    testing the hook refuses a ``CheckedImageDataset`` or
    ``CheckedVideoDataset`` of the validation or test dataloader with
    ``test_mode=False``, which would replace a broken file by another
    sample (see
    :func:`~mmadaptformer.engine.hooks.strict_evaluation.check_strict_evaluation`).

    Used with every recipe of `AdaptFormer
    <https://arxiv.org/abs/2205.13535>`_, image and video (one of the
    recipes' ``default_hooks``, ``configs/_base_/default_hooks.py``);
    ``tools/train.py`` and ``tools/test.py`` add one to a config without
    it.

    Args:
        max_names (int): At most this many file names are logged per epoch
            and kind. Defaults to 20.

    Examples:
        >>> default_hooks = dict(data_health=dict(type='DataHealthHook'))
    """

    priority = 'NORMAL'

    def __init__(self, max_names: int = 20) -> None:
        if max_names < 0:
            raise ValueError(
                f'DataHealthHook: max_names must be >= 0, got {max_names}')
        self.max_names = max_names
        self._skipped: List[str] = []
        self._skipped_images: List[str] = []
        # Whether any training sample so far carried 'skipped_images', or
        # 'skipped_videos' (or a short video's key): which counters the
        # run records and which lines the epoch summary gives.
        self._seen = {SKIPPED_IMAGES_KEY: False, SKIPPED_VIDEOS_KEY: False}
        # The keys counted, from the training dataset (see before_train);
        # empty: decided by what the samples carry.
        self._kinds: FrozenSet[str] = frozenset()
        # The short videos each loop met, and those already named.
        self._short_videos = ShortVideoTally()
        # Another DataHealthHook of the run came first (see before_run).
        self._repeated = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _guard_stages(cls)

    def before_run(self, runner) -> None:
        """Do nothing in this run, with a warning, if another
        ``DataHealthHook`` came first, or a subclass of this one's class is
        registered too (a user's, beside the recipes' hook: it runs in its
        place; see :func:`~.registration.registered_again`): every other
        hook method then returns at once (:func:`_guard_stages`). Two
        subclasses neither of which extends the other are refused with a
        ``ConfigError`` naming both."""
        note = registered_again(runner, self, DataHealthHook)
        self._repeated = note is not None
        if note is not None:
            print_log(note, logger='current', level=logging.WARNING)

    # ------------------------------------------------------------ training
    def before_train(self, runner) -> None:
        """Refuse a validation set that would skip broken files; decide
        which counters to record from the training dataset."""
        check_strict_evaluation(
            getattr(runner, 'val_loop', None), 'val_dataloader')
        self._kinds = _counted_kinds(runner)

    def _counts(self, key: str) -> bool:
        """Whether the run counts the files of ``key``: its training
        dataset does, or (over a dataset that counts nothing, or without
        a training dataset) its samples carried the key."""
        return key in self._kinds if self._kinds else self._seen[key]

    def _counts_videos(self) -> bool:
        """Whether ``train/skipped_videos`` and ``train/short_videos`` are
        recorded (and the epoch's broken videos logged): over
        ``CheckedVideoDataset``, or, over a dataset that counts nothing or
        without a training dataset, once a sample carried
        ``'skipped_videos'``, ``'short_videos'`` or
        ``'skipped_short_videos'``."""
        return self._counts(SKIPPED_VIDEOS_KEY)

    def _counts_images(self) -> bool:
        """Whether ``train/skipped_images`` is recorded: in a run over a
        ``CheckedImageDataset``, or whose samples carried
        ``'skipped_images'``."""
        return self._counts(SKIPPED_IMAGES_KEY)

    def before_train_epoch(self, runner) -> None:
        """Start the epoch's count at zero, for the counters the run
        records: none yet in a run that decides by what its samples
        carry."""
        self._skipped = []
        self._skipped_images = []
        self._short_videos.start('train')
        self._update_running_counts(runner, 0, 0, 0)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Collect the videos and images skipped for this batch's
        samples."""
        for sample in batch_samples(data_batch):
            metainfo = getattr(sample, 'metainfo', {})
            for key, carried in _CARRIED.items():
                self._seen[key] = self._seen[key] or any(k in metainfo
                                                         for k in carried)
            self._skipped.extend(metainfo.get(SKIPPED_VIDEOS_KEY, ()))
            self._skipped_images.extend(metainfo.get(SKIPPED_IMAGES_KEY, ()))
        self._short_videos.collect('train', data_batch)
        if not _logged(runner, batch_idx):
            return  # the counts are summed over ranks only where printed
        short = self._short_videos.met('train')
        counts = torch.tensor(
            [len(self._skipped), short,
             len(self._skipped_images)],
            dtype=torch.int64)
        # One tiny collective per printed line (none without DDP), so that
        # rank 0's log line counts every rank's files.
        all_reduce(counts)
        self._update_running_counts(runner, *counts.tolist())

    def _update_running_counts(self, runner, skipped: int, short: int,
                               images: int) -> None:
        """Record the epoch's counts so far for the iteration log lines,
        those of the kinds of files the run counts."""
        if self._counts_videos():
            runner.message_hub.update_scalar('train/skipped_videos', skipped)
            runner.message_hub.update_scalar('train/short_videos', short)
        if self._counts_images():
            runner.message_hub.update_scalar('train/skipped_images', images)

    def after_train_epoch(self, runner) -> None:
        """Sum the epoch's skips over ranks, log them and record the
        counts in the message hub."""
        prefix = f'epoch {runner.epoch + 1}'
        # Each rank's count, most skipped files and what its samples
        # carried: which lines to log is decided the same on every rank.
        gathered = all_gather_object({
            key: (len(files), Counter(files).most_common(self.max_names),
                  self._seen[key])
            for key, files in ((SKIPPED_VIDEOS_KEY, self._skipped),
                               (SKIPPED_IMAGES_KEY, self._skipped_images))
        })
        for key in self._seen:
            self._seen[key] = any(rank[key][2] for rank in gathered)
        images, videos = self._counts_images(), self._counts_videos()
        for key, noun in _BROKEN_FILES:
            if not (videos if key == SKIPPED_VIDEOS_KEY else images):
                continue
            total = sum(rank[key][0] for rank in gathered)
            counts: Counter = Counter()
            for rank in gathered:
                counts.update(dict(rank[key][1]))
            runner.message_hub.update_scalar(f'train/{key}', total)
            self._log_skipped(prefix, noun, total, counts)
        short = self._short_videos.report('train', prefix, self.max_names)
        if videos:
            runner.message_hub.update_scalar('train/short_videos', short)

    def _log_skipped(self, prefix: str, noun: str, total: int,
                     counts: Counter) -> None:
        """Log ``epoch N: skipped K broken <noun>s (names)``."""
        if total == 0:
            print_log(
                f'{prefix}: skipped {_files(0, "broken", noun)}',
                logger='current')
            return
        listed = ', '.join(name if n == 1 else f'{name} x{n}'
                           for name, n in counts.most_common(self.max_names))
        more = len(counts) - self.max_names
        if more > 0:
            listed += f', ... and {more} more files'
        print_log(
            f'{prefix}: skipped {_files(total, "broken", noun)} ({listed})',
            logger='current',
            level=logging.WARNING)

    # ---------------------------------------------------------- evaluation
    def before_val_epoch(self, runner) -> None:
        """Refuse a validation set that would skip broken files; start
        the validation run's count at zero."""
        check_strict_evaluation(
            getattr(runner, 'val_loop', None), 'val_dataloader')
        self._short_videos.start('val', getattr(runner, 'val_loop', None))

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence] = None) -> None:
        """Collect the short videos of this batch."""
        self._short_videos.collect('val', data_batch)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        """Log the short videos this validation run used."""
        self._short_videos.report('val', 'val', self.max_names)

    def before_test_epoch(self, runner) -> None:
        """Refuse a test set that would skip broken files; start the test
        run's count at zero."""
        check_strict_evaluation(
            getattr(runner, 'test_loop', None), 'test_dataloader')
        self._short_videos.start('test', getattr(runner, 'test_loop', None))

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence] = None) -> None:
        """Collect the short videos of this batch."""
        self._short_videos.collect('test', data_batch)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        """Log the short videos this test run used."""
        self._short_videos.report('test', 'test', self.max_names)
