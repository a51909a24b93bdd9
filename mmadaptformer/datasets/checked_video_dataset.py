# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``VideoDataset`` that checks its annotations up front and survives
broken video files.

Long runs on large video datasets (SSv2 has 169k files) meet truncated
downloads, files that are not videos and annotation lists that point at the
wrong folder. :class:`CheckedVideoDataset` fails on the last before training
starts, with the file and line at fault, and in training replaces a broken
video by another sample instead of killing a dataloader worker.
"""
from functools import cached_property
from typing import Callable, List, Optional, Sequence, Union

from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS
from mmaction.utils import ConfigType
from mmengine.registry import DefaultScope

from mmadaptformer.utils.unknown_containers import (check_video_file,
                                                    decord_reads_bytes)
from mmadaptformer.utils.video_containers import BrokenVideoError
from .evaluation_load import load_evaluation_sample
from .label_map import load_class_names
from .listed_files import (CHECK_FILES, check_evaluation_files,
                           check_listed_files_exist)
from .short_videos import SHORT_VIDEOS, ShortVideoError
from .training_refetch import SKIPPED_VIDEOS_KEY, VIDEOS, load_training_sample
from .video_length_check import resolve_min_frames, run_checking_length
from .video_list import parse_video_list
from .video_sample_errors import describe_video, evaluation_load_error
from .video_scan import scan_videos

# SKIPPED_VIDEOS_KEY is defined by .training_refetch, and kept importable
# from here.
__all__ = ['CheckedVideoDataset', 'SKIPPED_VIDEOS_KEY']

#: The last sentence of the error for broken videos of a test-mode list.
_EVALUATION_ADVICE = (
    'Replace them or remove their lines; or set skip_broken=True to drop '
    'broken videos when the dataset is built (it decodes each one).')


@DATASETS.register_module()
class CheckedVideoDataset(VideoDataset):
    """mmaction2's ``VideoDataset`` with checks for long runs.

    Used in the video recipes of `AdaptFormer
    <https://arxiv.org/abs/2205.13535>`_ in place of ``VideoDataset``; the
    annotation list keeps its format, lines ``<path> <label>``.

    **Before training starts** (when the runner builds the dataloader, also
    with ``lazy_init=True``) it raises, naming the file and line, on: a
    missing annotation file; a line without exactly a path and a label (or
    a path and labels with ``multi_class``); a label that is not a
    non-negative integer or, when ``num_classes`` is set, not below it;
    video files that do not exist (``check_files``); an empty list. Lines
    without a label (mmaction2's lists for inference) are errors too.

    **A broken video** is one whose loading or transforms raise (decord
    cannot open or decode it, a transform fails on it), one that is empty
    or shorter than its container header declares (a truncated download),
    one that is text (an HTML page a failed download saved, a Git LFS
    pointer: named as such, never handed to decord), one whose bytes match
    no video container and that decord cannot open by its path (a JPEG
    renamed ``.mp4``: named as such, so that ``DecordInit`` never hands
    decord bytes it would print; all these see
    :func:`~mmadaptformer.utils.unknown_containers.check_video_file`), a
    folder or a FIFO, or one that has no frames. A file whose header
    promises more frames than it can decode is broken when decoding the
    missing frames raises.

    * In training a broken video is logged with a WARNING naming it and the
      error, and another sample is drawn at random, at most ``max_refetch``
      times in a row before an error names every file tried
      (:func:`~mmadaptformer.datasets.training_refetch.load_training_sample`).
      The videos skipped before a sample travel in its data sample's
      metainfo under ``'skipped_videos'``, so that ``DataHealthHook`` can
      count them per epoch across dataloader workers and ranks.
    * In validation and testing (``test_mode=True``) a broken video is an
      error naming it: evaluation must not silently drop samples. So that
      the run stops before training, not at the first validation, every
      video of a test-mode list must exist, be readable and have a whole
      container header when the dataset is built, on every rank (no
      decoding; its cost, cold and warm: :func:`~.listed_files.
      check_evaluation_files`); one error names each bad one. With
      ``skip_broken=True`` every video is scanned when the dataset is
      built (:func:`~mmadaptformer.utils.video_probe.scan_video`:
      open it, count frames, decode the last one) and broken ones are
      dropped with a WARNING listing them. The
      scan runs in one process and costs 10 to 150 ms a video on a CPU
      core (VP9 webm, as in SSv2, is the slowest: the last frame decodes
      from its key frame), so several minutes for SSv2's 24.8k validation
      videos; only use it when a list is known to hold broken files. A
      progress bar with an ETA shows on a terminal.

    **A short video** decodes but has fewer frames than ``min_frames``,
    by default the frames one clip spans
    (:func:`~mmadaptformer.datasets.short_videos.clip_frames`: for
    ``SampleFrames``, ``(clip_len - 1) * frame_interval + 1``). mmaction2
    loops or repeats its frames to fill the clip. ``short_videos`` says
    what happens to it:

    * ``'report'`` (default): it is used with repeated frames, as in
      mmaction2, and its data sample's metainfo lists it under
      ``'short_videos'``. ``DataHealthHook`` counts short videos per
      training epoch and per validation or test run, and names each one
      (with its frames) the first time it is met.
    * ``'skip'``: in training another sample is drawn in its place, as for
      a broken video (counted per epoch by ``DataHealthHook``, under
      ``'skipped_short_videos'``); in test mode every video's frames are
      counted when the dataset is built and short ones are dropped with a
      WARNING listing them.
    * ``'error'``: loading it raises :class:`ShortVideoError`, naming the
      file, its annotation line, its frames and ``min_frames``.

    The frames are counted by ``DecordInit`` (or any transform that sets
    ``total_frames``), before any frame is decoded.

    Args:
        ann_file (str): The annotation list.
        pipeline (list[dict | Callable]): Data transforms.
        data_prefix (dict, optional): ``dict(video=folder)``, the folder
            the paths of the list are relative to. Defaults to None,
            ``dict(video='')``.
        num_classes (int, optional): Number of classes; labels must be in
            ``[0, num_classes)``. Defaults to None (not checked).
        classes (str | Sequence[str], optional): The class names in label
            order, or a label map file with the class of label ``i`` on
            line ``i + 1`` (what ``tools/data/*`` write; a relative path is
            taken from the working directory, not ``data_root``, as with
            mmpretrain's ``classes``). They become
            ``metainfo['classes']``, which MMEngine's Runner saves in every
            checkpoint (``meta['dataset_meta']``), so ``tools/infer.py``
            prints names wherever the checkpoint goes. A missing file, a
            count other than ``num_classes`` or a name given twice raise.
            Defaults to None (no names).
        check_files (str, optional): Which video paths to check for
            existence when the dataset is built: ``'sample'`` (a random
            sample of ``check_sample_size``), ``'all'`` or None.
            In test mode ``'sample'`` and ``'all'`` check every video,
            and its header (see above; a log line says so); None: none.
            Defaults to ``'sample'``.
        check_sample_size (int): Paths checked with ``'sample'``.
            Defaults to 100.
        max_refetch (int): In training, how many other samples to draw in a
            row after a broken video before raising. Defaults to 10.
        skip_broken (bool): In test mode, scan all videos up front and drop
            broken ones instead of failing on them. Defaults to False.
        max_listed (int): At most this many files are named in one error
            or warning. Defaults to 10.
        min_frames (int, optional): A video with fewer frames is short.
            Defaults to None: the frames one clip spans, from the
            pipeline's ``SampleFrames`` or ``UniformSample``
            (:func:`~mmadaptformer.datasets.short_videos.clip_frames`);
            with another sampler, videos are not checked for length unless
            this is set.
        short_videos (str): What to do with a short video: ``'report'``,
            ``'skip'`` or ``'error'`` (see above). Defaults to
            ``'report'``.
        **kwargs: Other arguments of ``VideoDataset``, such as
            ``test_mode``, ``multi_class``, ``delimiter`` and ``data_root``.

    Examples:
        >>> train_dataloader = dict(
        ...     dataset=dict(
        ...         type='CheckedVideoDataset',
        ...         ann_file='data/sthv2/sthv2_train_list_videos.txt',
        ...         data_prefix=dict(video='data/sthv2/videos'),
        ...         num_classes=174,
        ...         classes='data/sthv2/sthv2_label_map.txt',
        ...         short_videos='skip',
        ...         pipeline=train_pipeline))
    """

    #: Lines are read as :func:`~.video_list.parse_video_list` reads them:
    #: ``' '`` splits at any whitespace and every line has a label.
    strict_lines = True
    #: One dict per sample (``prepare_data``'s own): ``utils.collate_check``.
    one_dict_per_sample = True

    def __init__(self,
                 ann_file: str,
                 pipeline: List[Union[ConfigType, Callable]],
                 data_prefix: Optional[ConfigType] = None,
                 num_classes: Optional[int] = None,
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 check_files: Optional[str] = 'sample',
                 check_sample_size: int = 100,
                 max_refetch: int = 10,
                 skip_broken: bool = False,
                 max_listed: int = 10,
                 min_frames: Optional[int] = None,
                 short_videos: str = 'report',
                 **kwargs) -> None:
        if check_files not in CHECK_FILES:
            raise ValueError(f'CheckedVideoDataset: check_files='
                             f'{check_files!r} is not one of {CHECK_FILES}')
        if check_sample_size < 1 or max_refetch < 0 or max_listed < 1:
            raise ValueError(
                'CheckedVideoDataset: expected check_sample_size >= 1, '
                f'max_refetch >= 0 and max_listed >= 1, got '
                f'{check_sample_size}, {max_refetch} and {max_listed}')
        if short_videos not in SHORT_VIDEOS:
            raise ValueError(f'CheckedVideoDataset: short_videos='
                             f'{short_videos!r} is not one of {SHORT_VIDEOS}')
        if min_frames is not None and (not isinstance(min_frames, int)
                                       or isinstance(min_frames, bool)
                                       or min_frames < 1):
            raise ValueError(f'CheckedVideoDataset: min_frames must be an '
                             f'int >= 1 or None, got {min_frames!r}')
        names = load_class_names(classes, num_classes,
                                 f'CheckedVideoDataset ({ann_file})')
        if names is not None:
            metainfo = dict(kwargs.pop('metainfo', None) or {})
            if 'classes' in metainfo:
                raise ValueError(
                    f'CheckedVideoDataset ({ann_file}): classes given twice, '
                    'as classes= and metainfo[\'classes\']; keep one.')
            kwargs['metainfo'] = dict(metainfo, classes=names)
        self.short_videos = short_videos
        # Resolved from the pipeline by filter_data, once it is built.
        self._min_frames_arg = min_frames
        self.min_frames = min_frames
        self.check_files = check_files
        self.check_sample_size = check_sample_size
        self.skip_broken = skip_broken
        self.max_listed = max_listed
        # Built outside a runner, the pipeline's transforms are mmaction's.
        scope = None if DefaultScope.get_current_instance() else 'mmaction'
        with DefaultScope.overwrite_default_scope(scope):
            super().__init__(
                ann_file,
                pipeline=pipeline,
                data_prefix=data_prefix or dict(video=''),
                num_classes=num_classes,
                max_refetch=max_refetch,
                **kwargs)

    # ------------------------------------------------------------ building
    def load_data_list(self) -> List[dict]:
        """Parse the annotation list, checking every line and, as set by
        ``check_files``, that the videos exist (in test mode, unless
        ``skip_broken``: every one, with its container header).

        Returns:
            list[dict]: ``filename``, ``label`` and ``source`` (``file:line``
            of the annotation) of each video.
        """
        prefix = self.data_prefix.get('video')
        data_list = parse_video_list(self.ann_file, prefix, self.delimiter,
                                     self.multi_class, self.num_classes)
        if (self.test_mode and not self.skip_broken
                and self.check_files is not None):
            # Evaluation stops at the first video it cannot read: every
            # one is checked now, before the run, from its header alone.
            check_evaluation_files(data_list, self.ann_file, self.max_listed,
                                   prefix, 'video', self._check_video,
                                   BrokenVideoError, _EVALUATION_ADVICE)
            return data_list
        check_listed_files_exist(data_list, self.ann_file, self.check_files,
                                 self.check_sample_size, self.max_listed,
                                 prefix)
        return data_list

    def _check_video(self,
                     path: str,
                     fd: Optional[int] = None,
                     size: Optional[int] = None) -> None:
        """:func:`~mmadaptformer.utils.unknown_containers.check_video_file`
        for this pipeline: a file of no known container is opened by decord
        by its path first if ``DecordInit`` would hand decord its bytes."""
        check_video_file(path, fd, size, self._decord_reads_bytes)

    @cached_property
    def _decord_reads_bytes(self) -> bool:
        """Whether the pipeline's ``DecordInit`` hands decord the bytes of
        a file; read once, since every sample's check asks."""
        return decord_reads_bytes(self.pipeline.transforms)

    def filter_data(self) -> List[dict]:
        """In test mode, with ``skip_broken``, drop videos that fail
        :func:`~mmadaptformer.utils.video_probe.scan_video`, and with
        ``short_videos='skip'``, drop short ones; a WARNING lists them.

        Returns:
            list[dict]: The videos kept.
        """
        self.min_frames = resolve_min_frames(self._min_frames_arg,
                                             self.pipeline.transforms,
                                             self.short_videos, self.ann_file)
        drop_short = (
            self.test_mode and self.short_videos == 'skip'
            and self.min_frames is not None)
        if not (self.test_mode and (self.skip_broken or drop_short)):
            return self.data_list
        return scan_videos(self.data_list, self.ann_file, self.skip_broken,
                           drop_short, self.min_frames, self.max_listed)

    # ------------------------------------------------------------- loading
    def prepare_data(self, idx: int) -> Optional[dict]:
        """Check the container, then run the pipeline, raising if the video
        has no frames or, unless ``short_videos='report'``, fewer than
        ``min_frames`` (:func:`~.video_length_check.run_checking_length`).

        Args:
            idx (int): Index of the sample.

        Returns:
            dict | None: The pipeline's output, its data sample's metainfo
            listing the video under ``'short_videos'`` if it is short;
            None if a transform rejected the sample.
        """
        results = self.get_data_info(idx)
        filename = results['filename']
        # On every load, not once: a file truncated since the dataset was
        # built must be named, not crash decord (see video_containers); a
        # missing one is named, a folder or a FIFO refused, not read.
        # About 8 us of CPU for a file of a known container, 0.4% of a
        # tiny-config training sample (2 ms; measured 2026-12-06), less
        # for real-sized videos; one of no known container, opened by
        # decord first, 0.3-1 ms.
        self._check_video(filename)
        return run_checking_length(
            self.pipeline.transforms,
            results,
            self.min_frames,
            self.short_videos,
            describe=lambda: self._describe(idx),
            min_frames_given=self._min_frames_arg is not None)

    def _describe(self, idx: int) -> str:
        return describe_video(self.get_data_info(idx))

    def __getitem__(self, idx: int) -> dict:
        """Load a sample; in training replace broken videos by others.

        Args:
            idx (int): Index of the sample.

        Returns:
            dict: The pipeline's output. In training its data sample's
            metainfo lists under ``'skipped_videos'`` the broken videos
            drawn before it, and under ``'skipped_short_videos'`` the short
            ones.
        """
        if not self._fully_initialized:
            self.full_init()
        if self.test_mode:
            return load_evaluation_sample(
                idx,
                prepare=self.prepare_data,
                describe=self._describe,
                load_error=lambda i, e: evaluation_load_error(
                    self._describe(i),
                    self.get_data_info(i)['filename'], e),
                files=VIDEOS,
                passes=(ShortVideoError, ))
        return load_training_sample(
            idx,
            prepare=self.prepare_data,
            filename=lambda i: self.get_data_info(i)['filename'],
            describe=self._describe,
            draw_another=self._rand_another,
            max_refetch=self.max_refetch,
            short_videos=self.short_videos,
            ann_file=self.ann_file)
