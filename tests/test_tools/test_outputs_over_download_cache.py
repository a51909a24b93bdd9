# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py``, ``tools/test.py`` and the benchmark tools refuse an
output over a file of the checkpoint download cache, as the converters do.

A real HTTP server on 127.0.0.1 serves a tiny task's checkpoint; the tools
download it into a fresh PyTorch hub cache (``TORCH_HOME``), with its
``.url`` record. Writing an output over that download kept the record, so
a later load of the address got the output (``tools/infer.py``'s JSON
loaded as 'truncated or corrupted'); writing over the record left the next
load with a ``UnicodeDecodeError``. Each is refused with exit status 2
before anything runs, naming the output, the address and the cached file.
"""
import shutil

import pytest
import torch
from file_server import serving
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool, tool_refusal

from mmadaptformer.testing import write_video


@pytest.fixture(scope='module')
def served(tmp_path_factory, video_tasks):
    """The ``full`` task's checkpoint served as ``full.pth`` and
    ``full.pkl``; its config, and a video to classify."""
    root = tmp_path_factory.mktemp('served')
    for name in ('full.pth', 'full.pkl'):
        shutil.copy(video_tasks['full']['checkpoint'], root / name)
    video = write_video(
        str(root / 'clip.mp4'),
        torch.randint(
            0,
            256, (16, 32, 32, 3),
            dtype=torch.uint8,
            generator=torch.Generator().manual_seed(0)).numpy())
    with serving(root) as httpd:
        yield dict(
            url=httpd.url,
            config=video_tasks['full']['config'],
            checkpoint=video_tasks['full']['checkpoint'],
            video=video)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh torch hub cache for each test."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


def _download(served, name, tmp_path) -> str:
    """Download ``name`` into the cache the way a user does: infer.py with
    it as the checkpoint. Its address."""
    url = f'{served["url"]}/{name}'
    assert load_tool('infer.py').main([
        served['config'], url, served['video'], '--out',
        str(tmp_path / 'first.json')
    ]) == 0
    return url


def test_infer_out_over_a_download_or_its_record_is_refused(
        served, hub, tmp_path, capsys, clean_loggers):
    """``infer.py ... --out <hub>/full.pth`` (or ``full.pth.url``) wrote
    its JSON over the download (or its record); only the converters
    refused the first."""
    url = _download(served, 'full.pth', tmp_path)
    cached, record = hub / 'full.pth', hub / 'full.pth.url'
    before = {path: path.read_bytes() for path in (cached, record)}
    infer = load_tool('infer.py')
    # Read from the local file: the output is still the address's copy.
    argv = [served['config'], served['checkpoint'], served['video']]
    err = tool_refusal(infer, argv + ['--out', str(cached)], capsys)
    assert f"--out {cached} is the download cache's copy of {url} " \
        f'({cached}): ' in err, err
    assert 'Give a path outside the download cache.' in err, err
    err = tool_refusal(infer, argv + ['--out', str(record)], capsys)
    assert f"--out {record} is the download cache's record {record} of " \
        f'its copy of {url} ({cached}): ' in err, err
    assert before == {path: path.read_bytes() for path in before}


def test_infer_out_over_its_checkpoints_download_to_be_is_refused(
        served, hub, capsys, clean_loggers):
    """The checkpoint given as an address is downloaded there before the
    JSON is written: refused before it is."""
    url = f'{served["url"]}/full.pth'
    infer = load_tool('infer.py')
    for out in (hub / 'full.pth', hub / 'full.pth.url'):
        err = tool_refusal(
            infer, [served['config'], url, served['video'], '--out',
                    str(out)], capsys)
        assert f'--out {out} is where the download cache puts its ' in err, err
        assert f'{url} ({hub / "full.pth"}): ' in err, err
    assert not hub.exists()


def test_test_and_benchmark_outputs_over_a_download_are_refused(
        served, hub, tmp_path, capsys, clean_loggers):
    """``test.py --dump``/``--out`` and ``benchmark_infer.py --out`` over a
    cached download (here a ``.pkl`` checkpoint) replaced it."""
    url = _download(served, 'full.pkl', tmp_path)
    cached = hub / 'full.pkl'
    before = cached.read_bytes()
    work = tmp_path / 'work'
    test = load_tool('test.py')
    argv = [served['config'], served['checkpoint'], '--work-dir', str(work)]
    for flag in ('--dump', '--out'):
        err = tool_refusal(test, argv + [flag, str(cached)], capsys)
        assert f"{flag} {cached} is the download cache's copy of {url} " \
            f'({cached}): ' in err, err
    err = tool_refusal(
        load_tool('analysis_tools/benchmark_infer.py'),
        [TINY_ADAPTFORMER_VIDEO_CONFIG, '--out',
         str(cached)], capsys)
    assert f"--out {cached} is the download cache's copy of {url} " \
        f'({cached}): ' in err, err
    assert cached.read_bytes() == before
    assert not work.exists()
