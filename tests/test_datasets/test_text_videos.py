# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A text file listed as a video (the HTML page a failed download saved as
``clip.mp4``, a Git LFS pointer) is named as what it is by the video
datasets, never handed to decord.

decord 0.6 printed such a file's bytes to stderr as its "file name"
(mmaction2's ``DecordInit`` hands it the bytes), a terminal's escape
sequences included, and the test-mode list check took the file as whole.
"""
import shutil

import pytest
from checked_videos import build_checked, dataset_warnings, tiny_pipeline
from helpers import (TINY_VIDEO_CONFIG, run_tool, save_as_built_checkpoint,
                     video_data_cfg, write_config)

MARKER = 'please-sign-in-B4'
#: A login page saved as a video, with a terminal's colour codes in its
#: first bytes (as in the reviewer's repro).
PAGE = ('<!DOCTYPE html>\n<html><head><title>Sign in</title></head>'
        f'\x1b[31m{MARKER}\x1b[0m<body>\n' + f'<p>{MARKER}</p>\n' * 300 +
        '</body></html>\n')
LFS = ('version https://git-lfs.github.com/spec/v1\n'
       'oid sha256:' + '0' * 64 + '\nsize 123456\n')


def _with_page(tmp_path, tiny_video_data, split: str):
    """A copy of the tiny ``split`` list with the page as its line 3, and
    the video folder holding the tiny videos and ``page.mp4``."""
    videos = tmp_path / 'videos'
    shutil.copytree(tiny_video_data['videos'], videos)
    (videos / 'page.mp4').write_text(PAGE)
    with open(tiny_video_data[split]) as f:
        lines = f.read().splitlines()
    lines.insert(2, 'page.mp4 0')
    listed = tmp_path / f'{split}.txt'
    listed.write_text('\n'.join(lines) + '\n')
    data = dict(videos=str(videos), train=str(listed), val=str(listed))
    return data, videos / 'page.mp4', listed


def _assert_not_printed(proc) -> None:
    for stream in (proc.stdout, proc.stderr):
        assert MARKER not in stream and '\x1b[31m' not in stream, \
            f'the page was printed ({stream.count(MARKER)} times)'


def test_test_py_names_a_listed_page_when_the_dataset_is_built(
        tmp_path, tiny_video_data):
    data, page, listed = _with_page(tmp_path, tiny_video_data, 'val')
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(data))
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'model.pth')
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'work'],
        cwd=tmp_path,
        check=False,
        separate_stderr=True)
    _assert_not_printed(proc)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert 'acc/top1' not in out, out[-3000:]
    assert (f'  {listed}:3: {page}: it is an HTML page, not a video: the '
            'address served a web page') in out, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]


def test_train_py_skips_a_listed_page_with_a_warning(tmp_path,
                                                     tiny_video_data):
    data, page, listed = _with_page(tmp_path, tiny_video_data, 'train')
    body = video_data_cfg(data) + (
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
        'train_cfg = dict(max_epochs=1)\n'
        'default_hooks = dict(checkpoint=dict(interval=10, '
        'save_last=False))\n')
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'work'],
                    cwd=tmp_path,
                    check=False,
                    separate_stderr=True)
    _assert_not_printed(proc)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    # Every sample is drawn in the epoch, the page among them.
    assert (f'CheckedVideoDataset: skipping broken video {page} '
            f'({listed}:3): BrokenVideoError: {page}: it is an HTML page, '
            'not a video: ') in out, out[-3000:]


def test_a_git_lfs_pointer_is_dropped_by_the_scan(tmp_path, tiny_video_data,
                                                  log_records, capfd):
    """``skip_broken=True`` scans with decord: the pointer is dropped before
    decord opens it, with what it is."""
    videos = tmp_path / 'videos'
    shutil.copytree(tiny_video_data['videos'], videos)
    (videos / 'clip.mp4').write_text(LFS)
    with open(tiny_video_data['val']) as f:
        first = f.readline()
    listed = tmp_path / 'val.txt'
    listed.write_text(first + 'clip.mp4 1\n')
    dataset = build_checked(
        str(listed),
        dict(videos=str(videos)),
        test_mode=True,
        skip_broken=True,
        pipeline=tiny_pipeline('test_pipeline'))
    assert len(dataset) == 1
    warned = '\n'.join(dataset_warnings(log_records))
    assert f'{listed}:2' in warned and str(videos / 'clip.mp4') in warned
    assert 'a Git LFS pointer, not the video' in warned, warned
    # The warning is the only line that quotes the pointer's words.
    out, err = capfd.readouterr()
    assert 'oid sha256' not in out + err, err[-2000:]


def test_inference_names_a_page_with_colour_codes_as_a_page(tmp_path, capfd):
    """The same rule holds for tools/infer.py's inputs: the escape
    character no longer makes the page "bytes of no container"."""
    from mmengine.config import Config

    from mmadaptformer.apis import InferenceInputError, TestInputs
    page = tmp_path / 'clip.mp4'
    page.write_text(PAGE)
    inputs = TestInputs(Config.fromfile(TINY_VIDEO_CONFIG))
    with pytest.raises(InferenceInputError) as error:
        inputs(str(page))
    assert str(error.value).endswith(
        '(it is an HTML page, not a video: the address served a web page '
        '(a login, a download confirmation or an error page) instead of the '
        'file. Download the file itself).'), str(error.value)
    out, err = capfd.readouterr()
    assert MARKER not in out + err
