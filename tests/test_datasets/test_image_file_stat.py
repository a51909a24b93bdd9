# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``check_image_file``, run before every training image is loaded, asks
the filesystem about the file once.

It asked twice (``osp.isfile``, then ``os.stat`` for the size): on a
network disk each is a round trip to the server, for every sample. The
calls are counted on the real ``os.stat``, which ``osp.isfile`` calls."""
import os
import re

import cv2
import numpy as np
import pytest

from mmadaptformer.datasets.image_files import (BrokenImageError,
                                                check_image_file)


@pytest.fixture
def stat_calls(monkeypatch):
    calls = []
    real = os.stat

    def counting(path, *args, **kwargs):
        calls.append(os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, 'stat', counting)
    return calls


def test_an_image_is_asked_about_once(tmp_path, stat_calls):
    image = str(tmp_path / 'a.png')
    assert cv2.imwrite(image, np.zeros((4, 4, 3), np.uint8))
    check_image_file(image)
    assert stat_calls == [image]


def test_an_empty_image_is_refused_after_one_question(tmp_path, stat_calls):
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    message = f'{empty}: the file is empty (0 bytes)'
    with pytest.raises(BrokenImageError, match=f'^{re.escape(message)}$'):
        check_image_file(str(empty))
    assert stat_calls == [str(empty)]


def test_what_is_not_a_local_file_is_left_to_the_loader(tmp_path):
    """Guard of kept behaviour: a missing file, a folder, a URL and None
    are not checked here (the loading transform names them)."""
    check_image_file(str(tmp_path / 'missing.png'))
    check_image_file(str(tmp_path))
    check_image_file('https://example.com/a.png')
    check_image_file(None)
    check_image_file('bad\0name.png')  # ValueError from os.stat
