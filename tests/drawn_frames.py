# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read back what ``--show-dir`` drew and compare it with its input: the
text box in the top-left corner differs, the rest is the input's."""
import contextlib

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


def cut_in_index(path: str) -> int:
    """Cut the MP4 file ``path`` a quarter into its index (the ``moov``
    box, which OpenCV writes after the frames), as a copy cut short leaves
    it: decord 0.6 then fails to open it with its own ``DECORDError``,
    which is no ``RuntimeError``. Returns the size it had."""
    import struct
    with open(path, 'rb') as f:
        data = f.read()
    start = 0
    while data[start + 4:start + 8] != b'moov':
        start += struct.unpack('>I', data[start:start + 4])[0]
    size = struct.unpack('>I', data[start:start + 4])[0]
    with open(path, 'wb') as f:
        f.write(data[:start + size // 4])
    return len(data)


@contextlib.contextmanager
def damaged_when_classified(path: str):
    """Cut the video file ``path`` (:func:`cut_in_index`) right after a
    model's first forward in this block: the input was decoded and
    classified whole, and whatever reads it again after the
    classification (the drawing) finds a damaged file, as when another
    program rewrites it meanwhile. Yields a list that holds the file's
    size once it was cut."""
    import torch
    from mmengine.model import BaseModel

    def cut_once(module, args, output):
        if isinstance(module, BaseModel) and not cut:
            cut.append(cut_in_index(path))

    cut: list = []
    handle = torch.nn.modules.module.register_module_forward_hook(cut_once)
    try:
        yield cut
    finally:
        handle.remove()
