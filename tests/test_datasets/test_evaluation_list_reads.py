# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How a test-mode list's files are read when its dataset is built: each
file opened once, in threads, with a log line; an unreadable file named
so.

Each video was stat'ed twice and opened twice (``osp.isfile``, then
``check_container``'s size and header read, then its MP4 box walk), one
after the other and with no output: on a network filesystem every call is
a round trip, on every rank. A file its reader may not read came out as
``missing or broken`` with CPython's ``[Errno 13] Permission denied:
'PATH'``, the path written twice."""
import builtins
import encodings.utf_8_sig  # noqa: F401  (the nobody child cannot import)
import errno
import os
import os.path as osp
import shutil
import threading
import time

import pytest
from broken_videos import write_list
from mmengine.registry import DefaultScope
from other_user import as_another_user, open_tmp_path  # noqa: F401

from mmadaptformer.datasets import (BrokenImageError, BrokenVideoError,
                                    CheckedImageDataset, CheckedVideoDataset)
from mmadaptformer.datasets.listed_files import check_evaluation_files


def _val(ann, videos) -> CheckedVideoDataset:
    return CheckedVideoDataset(
        ann, pipeline=[], data_prefix=dict(video=videos), test_mode=True)


def test_each_video_is_opened_once_and_not_looked_up_by_path(
        monkeypatch, tmp_path, video_files):
    """One open of each video, read through its descriptor: no stat of its
    path, no second open."""
    names = video_files['good'] + ['trunc.webm', 'trunc.avi']
    ann = write_list(tmp_path / 'val.txt', [f'{n} 0' for n in names])
    videos = video_files['videos']
    calls = []
    for module, name in ((os, 'stat'), (os, 'lstat'), (os, 'open'), (builtins,
                                                                     'open')):

        def counted(path,
                    *args,
                    _real=getattr(module, name),
                    _name=name,
                    **kwargs):
            if str(path).startswith(videos + os.sep):
                calls.append((_name, osp.basename(str(path))))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    with pytest.raises(BrokenVideoError):
        _val(ann, videos)
    assert sorted(calls) == sorted(('open', n) for n in names)


def test_the_check_is_logged_with_its_time(log_records, tmp_path, video_files):
    ann = write_list(tmp_path / 'val.txt',
                     [f'{n} 0' for n in video_files['good']])
    _val(ann, video_files['videos'])
    lines = [r.getMessage() for r in log_records if ann in r.getMessage()]
    assert lines[0] == (f'checking 4 videos of {ann} (test_mode=True: each '
                        'must exist and be whole)...')
    assert lines[1].startswith(f'checked 4 videos of {ann} in ')
    assert lines[1].endswith(' s') and len(lines) == 2


def _files(tmp_path, count):
    paths = []
    for i in range(count):
        path = tmp_path / f'{i:02d}.bin'
        path.write_bytes(b'x' * (i + 1))
        paths.append(dict(filename=str(path), source=f'list.txt:{i + 1}'))
    return paths


def test_files_are_checked_side_by_side_and_named_in_list_order(tmp_path):
    """Eight checks must be in flight at once (a serial loop waits at the
    barrier and fails); the later files finish first, and the error still
    names the files in the list's order."""
    data_list = _files(tmp_path, 16)
    barrier = threading.Barrier(8, timeout=20)

    def check_file(path, fd, size):
        if size <= 8:
            barrier.wait()
        time.sleep(0.002 * (16 - size))
        if os.pread(fd, 1, 0) == b'x' and size % 5 == 0:
            raise BrokenVideoError(f'{path}: broken at {size}')

    with pytest.raises(BrokenVideoError) as info:
        check_evaluation_files(data_list, 'list.txt', 10, None, 'video',
                               check_file, BrokenVideoError, 'Fix them.')
    lines = str(info.value).splitlines()[1:-1]
    assert lines == [
        f'  list.txt:{n}: {tmp_path}/{n - 1:02d}.bin: broken at {n}'
        for n in (5, 10, 15)
    ]


def test_an_io_error_is_unreadable_and_named_once(tmp_path):
    """An EIO cannot be made on a real disk here: the check raises it as
    ``os.pread`` would."""
    data_list = _files(tmp_path, 2)

    def check_file(path, fd, size):
        if size == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO), path)

    with pytest.raises(BrokenVideoError) as info:
        check_evaluation_files(data_list, 'list.txt', 10, None, 'video',
                               check_file, BrokenVideoError, 'Fix them.')
    lines = str(info.value).splitlines()
    assert lines[0].startswith('1 of 2 videos of list.txt are missing, '
                               'unreadable or broken; ')
    assert lines[1] == (f'  list.txt:2: {tmp_path}/01.bin: unreadable: '
                        'Input/output error')
    assert lines[2].startswith('Fix them. An unreadable file needs read '
                               'permission for the user the job runs as')


def test_a_folder_in_the_list_is_named_so(tmp_path, video_files):
    """A folder is still not a broken video (FileNotFoundError, kept), but
    is named so: it was called missing."""
    (tmp_path / 'videos').mkdir()
    (tmp_path / 'videos' / 'clip.mp4').mkdir()
    ann = write_list(tmp_path / 'val.txt', ['clip.mp4 0'])
    with pytest.raises(
            FileNotFoundError,
            match=f'{tmp_path}/videos/clip.mp4: a folder, not a '
            'file'):
        _val(ann, str(tmp_path / 'videos'))


def _shut(folder, name, source):
    """``folder/name``, a copy of ``source`` with mode 000."""
    path = osp.join(folder, name)
    shutil.copy(source, path)
    os.chmod(path, 0)
    return path


def test_a_video_its_reader_may_not_read_is_unreadable(
        open_tmp_path, video_files):  # noqa: F811
    """A real file of mode 000, read as another user (root reads any
    file): ``unreadable: Permission denied``, a broken file's error."""
    videos = osp.join(open_tmp_path, 'videos')
    os.mkdir(videos)
    os.chmod(videos, 0o755)
    good = osp.join(video_files['videos'], video_files['good'][0])
    shutil.copy(good, osp.join(videos, 'a.mp4'))
    os.chmod(osp.join(videos, 'a.mp4'), 0o644)
    shut = _shut(videos, 'shut.mp4', good)
    ann = write_list(
        osp.join(open_tmp_path, 'val.txt'), ['a.mp4 0', 'shut.mp4 1'])
    os.chmod(ann, 0o644)

    def work():
        try:
            _val(ann, videos)
        except BrokenVideoError as e:
            return str(e)
        return 'built'

    lines = as_another_user(work).splitlines()
    assert lines[0].startswith(f'1 of 2 videos of {ann} are missing, '
                               'unreadable or broken; ')
    assert lines[1] == f'  {ann}:2: {shut}: unreadable: Permission denied'


def test_an_image_its_reader_may_not_read_is_unreadable(
        open_tmp_path):  # noqa: F811
    """It passed the check (looked up, not opened) and stopped evaluation
    at its turn."""
    from mmadaptformer.testing import make_stripes_dataset
    make_stripes_dataset(open_tmp_path, num_per_class=1, splits=('val', ))
    for folder, dirs, files in os.walk(open_tmp_path):
        for name in dirs:
            os.chmod(osp.join(folder, name), 0o755)
        for name in files:
            os.chmod(osp.join(folder, name), 0o644)
    names = sorted(f'{c}/{n}' for c in ('horizontal', 'vertical')
                   for n in os.listdir(osp.join(open_tmp_path, 'val', c)))
    folder = osp.join(open_tmp_path, 'val')
    shut = _shut(folder, 'horizontal/shut.png', osp.join(folder, names[0]))
    lines = [f'{n} {int(n.startswith("vertical"))}' for n in names]
    ann = write_list(
        osp.join(open_tmp_path, 'list.txt'), lines + ['horizontal/shut.png 0'])
    os.chmod(ann, 0o644)

    def work():
        try:
            with DefaultScope.overwrite_default_scope('mmpretrain'):
                CheckedImageDataset(
                    data_root=open_tmp_path,
                    ann_file='list.txt',
                    data_prefix='val',
                    classes=['horizontal', 'vertical'],
                    pipeline=[],
                    test_mode=True)
        except BrokenImageError as e:
            return str(e)
        return 'built'

    message = as_another_user(work)
    assert (f'{ann}:{len(lines) + 1}: {shut}: unreadable: Permission '
            'denied\n') in message


def test_ctrl_c_stops_the_check_without_finishing_the_list(tmp_path):
    """Ctrl-C (here raised by the list's first file's check) ends the
    check with the files not yet started left unchecked: before, the
    thread pool's exit checked the rest of the list first (on a cold
    network disk, a minute or more of waiting after Ctrl-C).

    The first file of the list raises, not the first file some thread
    happens to check: a later chunk raising first would leave the pool
    waiting for the chunks before it, busy for a time that depends on the
    machine's load."""
    data_list = []
    for i in range(4096):
        (tmp_path / f'{i}.bin').write_bytes(b'x')
        data_list.append(
            dict(filename=str(tmp_path / f'{i}.bin'), source=f'l.txt:{i}'))
    first = data_list[0]['filename']
    calls = []

    def check_file(path, fd, size):
        calls.append(path)
        if path == first:
            raise KeyboardInterrupt
        time.sleep(0.005)

    with pytest.raises(KeyboardInterrupt):
        check_evaluation_files(data_list, 'list.txt', 10, None, 'video',
                               check_file, BrokenVideoError, 'Fix them.')
    assert len(calls) < len(data_list) // 2, len(calls)
