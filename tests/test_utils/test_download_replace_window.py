# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A load that reads the cache while another load puts a changed file's
new download in place is not told the cached copy is damaged.

The new file went in first, then its record: a second job sharing the
cache that read in between found the new file under the old record, whose
SHA-256 it did not match, and warned "The cached copy ... is damaged (its
SHA-256 is ...): downloading it again". Now the other load's scratch
folder next to the file tells it apart: the reader downloads the file
again (as before: it never uses a copy that does not match its record),
saying why at INFO level, not that anything is damaged. Served by a real
HTTP server on 127.0.0.1 into a fresh ``TORCH_HOME``.
"""
import os

import pytest
import torch
from file_server import serving
from mmengine.logging import MMLogger
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import download_keep
from mmadaptformer.utils.download_cache import URL_SUFFIX
from mmadaptformer.utils.download_hash import SHA256_FIELD, file_sha256


def _serve(root, step):
    """Serve another ``best.pth`` (another size, a later time)."""
    path = root / 'best.pth'
    torch.save({'step': step, 'pad': torch.zeros(step)}, path)
    mtime = os.stat(path).st_mtime + 3600 * step
    os.utime(path, (mtime, mtime))


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    root = tmp_path / 'served'
    root.mkdir()
    _serve(root, 1)
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    with serving(root) as httpd:
        yield root, hub, f'{httpd.url}/best.pth'


def test_a_reader_between_file_and_record_is_not_told_damaged(
        served, monkeypatch, capsys):
    root, hub, url = served
    cached = hub / 'best.pth'
    assert CheckpointLoader.load_checkpoint(url)['step'] == 1
    _serve(root, 2)
    write_record = download_keep.write_record
    started, seen = [], []

    def reader_first(*args, **kwargs):
        if not started and os.path.isfile(cached):
            # Another job loads now: the new file is in place, its record
            # not yet written. (Its own download, if any, writes as is.)
            started.append(True)
            seen.append(CheckpointLoader.load_checkpoint(url)['step'])
        return write_record(*args, **kwargs)

    monkeypatch.setattr(download_keep, 'write_record', reader_first)
    MMLogger.get_instance('replace_window_J', log_level='WARNING')
    assert CheckpointLoader.load_checkpoint(url)['step'] == 2
    assert seen == [2]
    said = ' '.join(capsys.readouterr().out.split())
    assert 'damaged' not in said, said
    lines = (hub / ('best.pth' + URL_SUFFIX)).read_text().splitlines()
    assert f'{SHA256_FIELD}: {file_sha256(cached)}' in lines
    assert torch.load(cached)['step'] == 2


def test_a_copy_moved_aside_while_it_is_checked_is_downloaded(
        served, monkeypatch, tmp_path):
    """A load that found the cached copy and read its record, whose copy
    another load then moved aside (to put a new download in place), stopped
    with a bare ``FileNotFoundError`` from hashing it; now it downloads the
    address, as a load that found no copy does."""
    from mmadaptformer.utils import download_cache
    root, hub, url = served
    cached = hub / 'best.pth'
    assert CheckpointLoader.load_checkpoint(url)['step'] == 1
    check = download_cache.recorded_hash_mismatch
    moved = []

    def moved_first(path, recorded):
        if not moved:
            moved.append(True)
            os.replace(path, tmp_path / 'aside.pth')
        return check(path, recorded)

    monkeypatch.setattr(download_cache, 'recorded_hash_mismatch', moved_first)
    assert CheckpointLoader.load_checkpoint(url)['step'] == 1
    assert moved and torch.load(cached)['step'] == 1
