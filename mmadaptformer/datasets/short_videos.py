# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Videos shorter than a clip: how many frames a clip spans, the error and
the metainfo keys that ``CheckedVideoDataset`` and ``DataHealthHook``
share."""
from typing import Collection, Iterable, Optional, Tuple

from mmaction.datasets.transforms import SampleFrames, UniformSample

__all__ = [
    'SHORT_VIDEOS', 'SHORT_VIDEOS_KEY', 'SKIPPED_SHORT_VIDEOS_KEY',
    'ShortVideo', 'ShortVideoError', 'clip_frames', 'short_videos_notice'
]

#: What ``CheckedVideoDataset(short_videos=...)`` accepts.
SHORT_VIDEOS = ('report', 'skip', 'error')
#: Metainfo key of a packed sample: ``[(file, frames, min_frames)]`` if its
#: own video is shorter than a clip (``short_videos='report'``), else ``[]``.
SHORT_VIDEOS_KEY = 'short_videos'
#: Metainfo key of a packed training sample: ``(file, frames, min_frames)``
#: of each short video skipped before it (``short_videos='skip'``).
SKIPPED_SHORT_VIDEOS_KEY = 'skipped_short_videos'
#: ``(file, frames, min_frames)`` of a short video.
ShortVideo = Tuple[str, int, int]


class ShortVideoError(ValueError):
    """A video has fewer frames than a clip spans (``min_frames``).

    Args:
        message (str): The message; it names the file.
        filename (str): The video. Defaults to ''.
        num_frames (int): Its frames. Defaults to 0.
        min_frames (int): The fewest frames a video must have. Defaults to
            0.
    """

    # The defaults let a DataLoader worker's error be re-raised in the
    # main process, which rebuilds it from its message alone.
    def __init__(self,
                 message: str,
                 filename: str = '',
                 num_frames: int = 0,
                 min_frames: int = 0) -> None:
        super().__init__(message)
        self.filename = filename
        self.num_frames = num_frames
        self.min_frames = min_frames

    def __reduce__(self):
        return type(self), (str(self), self.filename, self.num_frames,
                            self.min_frames)


def clip_frames(transforms: Iterable) -> Optional[int]:
    """The frames one clip of a video pipeline spans.

    A video with fewer frames gets some of them repeated in its clip (the
    sampler loops or duplicates them). Read from the first sampling
    transform: for ``SampleFrames``, ``(clip_len - 1) * frame_interval +
    1``, the frames from the first sampled to the last, or ``clip_len *
    frame_interval`` with ``temporal_jitter`` (a jittered frame can land up
    to ``frame_interval - 1`` later); for ``UniformSample``, ``clip_len``.

    Args:
        transforms (Iterable): Built transforms, such as
            ``dataset.pipeline.transforms``.

    Returns:
        int | None: The frames, or None when the first sampling transform
        is another one (``DenseSampleFrames``, a subclass, or
        ``SampleFrames`` with ``target_fps``, whose span depends on each
        video's frame rate) or there is none.
    """
    for transform in transforms:
        if type(transform) is SampleFrames:
            if transform.target_fps is not None:
                return None
            if transform.temporal_jitter:
                return transform.clip_len * transform.frame_interval
            return (transform.clip_len - 1) * transform.frame_interval + 1
        if type(transform) is UniformSample:
            return transform.clip_len
        if isinstance(transform, (SampleFrames, UniformSample)):
            return None  # a subclass samples its own way
    return None


def short_videos_notice(verb: str,
                        count: int,
                        named: Collection[ShortVideo],
                        max_names: int = 20,
                        repeated: bool = True) -> str:
    """What a run did with videos shorter than a clip, naming them:
    ``'evaluated 2 videos shorter than a clip, with repeated frames (a.mp4
    (1 of 10 frames), b.mp4 (3 of 10 frames))'``.

    Args:
        verb (str): What the run did with them (``'evaluated'``).
        count (int): How many it met (a video met twice counts twice).
        named (Collection[ShortVideo]): The videos to name, sorted here;
            after ``max_names`` of them, ``... and N more files``, and
            ``all named before`` if none.
        max_names (int): At most this many are named. Defaults to 20.
        repeated (bool): Whether they were used, with repeated frames
            (else they were left out). Defaults to True.

    Returns:
        str: The notice.
    """
    listed = sorted(named)[:max_names]
    names = ', '.join(f'{name} ({frames} of {min_frames} frames)'
                      for name, frames, min_frames in listed)
    more = len(named) - len(listed)
    if more > 0:
        names += (', ' if names else '') + f'... and {more} more files'
    if not names:
        names = 'all named before'
    videos = f'{count} video' + ('' if count == 1 else 's')
    how = ', with repeated frames' if repeated else ''
    return f'{verb} {videos} shorter than a clip{how} ({names})'
