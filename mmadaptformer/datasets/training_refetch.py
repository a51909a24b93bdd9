# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Draw another training sample in place of a broken file or a short
video.

:class:`~mmadaptformer.datasets.CheckedVideoDataset` and
:class:`~mmadaptformer.datasets.CheckedImageDataset` load their training
samples through :func:`load_training_sample`: a file whose loading or
transforms raise is logged and replaced by a random other sample, and so is
a short video with ``short_videos='skip'``, at most ``max_refetch`` times
in a row before an error names every file tried. What was skipped travels
in the returned data sample's metainfo, for ``DataHealthHook``.
"""
import logging
from typing import Callable, List, NamedTuple, Optional, Type

from mmengine.logging import print_log

from mmadaptformer.utils.decord_failures import decord_explained
from mmadaptformer.utils.png_decoding import PngDecodingError
from mmadaptformer.utils.transform_steps import TransformError
from mmadaptformer.utils.video_containers import (BrokenVideoError,
                                                  one_line_error)
from .image_files import BrokenImageError
from .short_videos import SKIPPED_SHORT_VIDEOS_KEY, ShortVideo, ShortVideoError

__all__ = [
    'IMAGES', 'SKIPPED_IMAGES_KEY', 'SKIPPED_VIDEOS_KEY', 'VIDEOS',
    'SampleFiles', 'load_training_sample'
]

#: Metainfo key of a packed training sample: the videos skipped before it.
SKIPPED_VIDEOS_KEY = 'skipped_videos'
#: Metainfo key of a packed training sample: the images skipped before it.
SKIPPED_IMAGES_KEY = 'skipped_images'


class SampleFiles(NamedTuple):
    """The files a dataset loads its samples from, as
    :func:`load_training_sample` names them.

    Args:
        owner (str): The dataset's class, which starts each message.
        noun (str): One file, e.g. ``'video'``.
        skipped_key (str): The metainfo key listing the skipped files.
        error (type): Raised when ``max_refetch + 1`` samples in a row
            could not be loaded.
    """
    owner: str
    noun: str
    skipped_key: str
    error: Type[Exception]


#: The files of :class:`~mmadaptformer.datasets.CheckedVideoDataset`.
VIDEOS = SampleFiles('CheckedVideoDataset', 'video', SKIPPED_VIDEOS_KEY,
                     BrokenVideoError)
#: The files of :class:`~mmadaptformer.datasets.CheckedImageDataset`.
IMAGES = SampleFiles('CheckedImageDataset', 'image', SKIPPED_IMAGES_KEY,
                     BrokenImageError)

# A sample's pipeline output (None: rejected), and a text about an index.
_Prepare = Callable[[int], Optional[dict]]
_Text = Callable[[int], str]


def load_training_sample(idx: int,
                         *,
                         prepare: _Prepare,
                         filename: _Text,
                         describe: _Text,
                         draw_another: Callable[[], int],
                         max_refetch: int,
                         ann_file: str,
                         short_videos: Optional[str] = None,
                         files: SampleFiles = VIDEOS) -> dict:
    """Load training sample ``idx``, drawing others in place of broken
    files, short videos (unless ``short_videos='error'``) and samples the
    pipeline rejects.

    Args:
        idx (int): Index of the sample.
        prepare (Callable): Loads a sample by index: the pipeline's output,
            or None if a transform rejected it; raises
            :class:`ShortVideoError` for a short video.
        filename (Callable): The file of an index.
        describe (Callable): An index's file (and annotation line), for the
            messages.
        draw_another (Callable): A random other index.
        max_refetch (int): How many other samples to draw in a row before
            raising.
        ann_file (str): The annotation list (or image folder), for the
            final error.
        short_videos (str, optional): The dataset's ``short_videos``: with
            ``'error'`` a :class:`ShortVideoError` is raised, not skipped.
            Defaults to None: the dataset has no short videos, and its
            samples' metainfo gets no ``'skipped_short_videos'``.
        files (SampleFiles): What the files are, for the messages, the
            metainfo key and the final error. Defaults to :data:`VIDEOS`.

    Returns:
        dict: The pipeline's output. Its data sample's metainfo lists under
        ``files.skipped_key`` (``'skipped_videos'``, ``'skipped_images'``)
        the broken files drawn before it, and under
        ``'skipped_short_videos'`` the short videos.

    Raises:
        ShortVideoError: A short video, with ``short_videos='error'``.
        PngDecodingError: From ``prepare``: a good PNG that OpenCV cannot
            decode in this process; it is not skipped.
        BrokenVideoError: If ``max_refetch + 1`` samples in a row could
            not be loaded; it names each and why (``files.error``: a
            :class:`BrokenImageError` for images), and how many were
            short videos.
        ShortVideoError: Also if ``max_refetch + 1`` samples in a row were
            all short videos skipped (``short_videos='skip'``): on one
            line, naming the videos, the frames a clip needs and
            ``short_videos``.
    """
    skipped: List[str] = []
    skipped_short: List[ShortVideo] = []
    tried: List[str] = []
    for _ in range(max_refetch + 1):
        try:
            data = prepare(idx)
        except ShortVideoError as e:
            if short_videos in (None, 'error'):
                raise
            skipped_short.append((e.filename, e.num_frames, e.min_frames))
            tried.append(f'  {describe(idx)}: {e.num_frames} '
                         f'frames, fewer than {e.min_frames} '
                         "(short_videos='skip')")
            idx = draw_another()
            continue
        except PngDecodingError:
            # The process cannot decode PNG images: every PNG would be
            # skipped as broken, and none is.
            raise
        except Exception as e:
            # Any error: decord's, OpenCV's, Pillow's and the transforms'
            # have no common base class; a systematic one (a bad
            # pipeline) still ends in the error below, which quotes every
            # message.
            skipped.append(filename(idx))
            why = e.describe() if isinstance(e, TransformError) else \
                one_line_error(e)
            why = decord_explained(
                filename(idx), e.error if isinstance(e, TransformError) else e,
                why) or why
            # A transform after the loading ones failed: the file was read,
            # and is not called broken (a failure on every sample is
            # refused before the run: utils.first_samples).
            read = isinstance(e, TransformError) and not e.reads_file
            if read:
                why = f'after it was read, {why}'
            tried.append(f'  {describe(idx)}: {why}')
            print_log(
                f'{files.owner}: skipping {"" if read else "broken "}'
                f'{files.noun} {describe(idx)}: {why}; drawing '
                'another sample',
                logger='current',
                level=logging.WARNING)
            idx = draw_another()
            continue
        if data is None:  # a transform rejected it, as in BaseDataset
            tried.append(f'  {describe(idx)}: rejected by the pipeline')
            idx = draw_another()
            continue
        samples = data.get('data_samples') if isinstance(data, dict) else None
        if hasattr(samples, 'set_metainfo'):
            metainfo = {files.skipped_key: skipped}
            if short_videos is not None:
                metainfo[SKIPPED_SHORT_VIDEOS_KEY] = skipped_short
            samples.set_metainfo(metainfo)
        return data
    if skipped_short and len(skipped_short) == len(tried):
        raise _all_short_error(skipped_short, files.owner, ann_file,
                               max_refetch)
    what = 'could not be loaded'
    if skipped_short:
        what = (f'were skipped: {len(tried) - len(skipped_short)} could not '
                f'be loaded and {len(skipped_short)} were shorter than a '
                "clip (short_videos='skip')")
    raise files.error(f'{files.owner}: {len(tried)} samples in a row of '
                      f'{ann_file} {what} (max_refetch={max_refetch}); '
                      'tried:\n' + '\n'.join(tried))


def _all_short_error(skipped_short: List[ShortVideo], owner: str,
                     ann_file: str, max_refetch: int) -> ShortVideoError:
    """The error, on one line, for ``max_refetch + 1`` samples in a row
    that were all skipped as short videos, which are not broken: it names
    them, the frames a clip needs and ``short_videos``."""
    videos = sorted(set(skipped_short))
    named = ', '.join(f'{name} ({frames} of {min_frames} frames)'
                      for name, frames, min_frames in videos[:3])
    more = len(videos) - 3
    if more > 0:
        named += f', ... and {more} more'
    name, frames, min_frames = videos[0]
    count = f'{len(videos)} video' + ('' if len(videos) == 1 else 's')
    return ShortVideoError(
        f'{owner}: the {len(skipped_short)} samples drawn in a row from '
        f'{ann_file} (max_refetch={max_refetch}) were all videos shorter '
        "than a clip, skipped with short_videos='skip' (none was broken): "
        f'{count}, {named}. A clip needs {min_frames} frames (min_frames; '
        'by default the frames one clip of the pipeline spans, (clip_len '
        '- 1) * frame_interval + 1 for SampleFrames). Set '
        "short_videos='report' to train on them with repeated frames, "
        'lower min_frames or the clip span, or list longer videos.', name,
        frames, min_frames)
