# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video file's first bytes are read once by its check
(:func:`~mmadaptformer.utils.unknown_containers.check_video_file`, which
inference and the video datasets call), and ``check_container`` takes a
size only with the descriptor it is the size of.

Before, a file of no known container was opened three times (the
structure check, then ``unknown_container_error`` read its head again,
then ``inspect_video`` checked its container again before decord opened
it), and inference opened every video twice (``unknown_container`` and
``check_container``). A ``size`` given without ``fd`` was ignored.
"""
import builtins
import os
import random

import pytest
from media_files import write_clip

from mmadaptformer.utils.unknown_containers import check_video_file
from mmadaptformer.utils.video_containers import (BrokenVideoError,
                                                  check_container)


@pytest.fixture
def opens(monkeypatch):
    """The paths opened by Python (``os.open``, ``open``) from now on."""
    opened = []
    for module, name in ((os, 'open'), (builtins, 'open')):

        def counted(path, *args, _real=getattr(module, name), **kwargs):
            opened.append(str(path))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    return opened


def test_inference_opens_a_video_once_before_its_pipeline(tmp_path, opens):
    """Then ``DecordInit`` reads it (mmengine's ``get``)."""
    from mmengine.config import Config
    from repo_paths import TINY_VIDEO_CONFIG

    from mmadaptformer.apis import TestInputs
    inputs = TestInputs(Config.fromfile(TINY_VIDEO_CONFIG))
    clip = write_clip(str(tmp_path / 'clip.mp4'))
    opens.clear()
    inputs(clip)
    assert [path for path in opens if path == clip] == [clip, clip], opens


def test_bytes_of_no_container_are_opened_once_before_decord(tmp_path, opens):
    """decord then opens the file by its path, in C (not counted)."""
    junk = tmp_path / 'junk.mp4'
    rng = random.Random(0)
    junk.write_bytes(b'\x01' +
                     bytes(rng.randrange(1, 256) for _ in range(999)))
    with pytest.raises(BrokenVideoError, match='match no video container'):
        check_video_file(str(junk))
    assert opens == [str(junk)]


def test_a_size_without_its_descriptor_is_refused(tmp_path):
    clip = write_clip(str(tmp_path / 'clip.mp4'))
    with pytest.raises(ValueError, match=r'size=5 is taken only with'):
        check_container(clip, size=5)
    # With its descriptor, the size given is the one checked against.
    fd = os.open(clip, os.O_RDONLY)
    try:
        with pytest.raises(BrokenVideoError, match='truncated MP4/MOV'):
            check_container(clip, fd, 100)
        assert check_container(clip, fd).container == 'MP4/MOV'
    finally:
        os.close(fd)
