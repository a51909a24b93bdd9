# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read back what ``--show-dir`` drew and compare it with its input: the
text box in the top-left corner differs, the rest is the input's."""
import numpy as np

#: The corner the label text is written in (rows, columns) on a frame of
#: 224 rows, and a part of the frame far from it.
TEXT_CORNER = (slice(8, 24), slice(8, 40))
FAR_CORNER = (slice(150, None), slice(180, None))


def gray_frames(num: int, height: int = 224, width: int = 288) -> np.ndarray:
    """``num`` smooth ``height x width`` RGB frames (a horizontal ramp that
    brightens frame by frame): lossy codecs keep them close."""
    ramp = np.linspace(120, 220, width)[None, :, None]
    return np.stack([
        np.broadcast_to(ramp + 2 * t, (height, width, 3)).astype(np.uint8)
        for t in range(num)
    ])


def read_video(path: str) -> np.ndarray:
    """All frames of a video file, ``T x H x W x 3`` RGB, by decord."""
    import decord
    reader = decord.VideoReader(path)
    return np.stack([reader[i].asnumpy() for i in range(len(reader))])


def assert_drawn(drawn: np.ndarray,
                 original: np.ndarray,
                 tolerance: float = 4.) -> None:
    """``drawn`` is ``original`` with text in its top-left corner: that
    corner differs, the far corner is the same (within ``tolerance`` per
    pixel on average, for a lossy codec)."""
    assert drawn.shape == original.shape
    diff = np.abs(drawn.astype(float) - original.astype(float))
    assert diff[TEXT_CORNER].mean() > 20, 'no text was drawn'
    assert diff[FAR_CORNER].mean() <= tolerance, 'the picture changed'
