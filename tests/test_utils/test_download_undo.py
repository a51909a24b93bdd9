# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A download of a file that changed on the server, which fails while it
is put in place, leaves the cache as it was: the old file with its OLD
record, so that the next load still sees the change and downloads again.

Before, the new record went in before the new file: where only the file
could not be put in place, the new record described the old file, and the
next load took the old file as current without a word. The checkpoints are
served by a real HTTP server on 127.0.0.1 whose handler gets in the way
while it serves the file.
"""
import contextlib
import os
import shutil

import pytest
import torch
from file_server import QuietHandler, serving
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import CheckpointLoadError
from mmadaptformer.utils.download_cache import URL_SUFFIX


class _InTheWay(QuietHandler):
    """Before serving a ``GET``, calls ``block`` (when set) to put a folder
    where the download goes."""

    block = None

    def do_GET(self):
        if self.block is not None:
            type(self).block()
        super().do_GET()


def _serve_changed(root, name, step):
    """Replace the served ``name`` by another checkpoint, with another
    size and modification time, as a new run's ``best.pth`` would be."""
    path = root / name
    torch.save({'step': step, 'pad': torch.zeros(step)}, path)
    mtime = os.stat(path).st_mtime + 3600 * step
    os.utime(path, (mtime, mtime))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    root = tmp_path / 'served'
    root.mkdir()
    return root, tmp_path / 'torch_home' / 'hub' / 'checkpoints'


@contextlib.contextmanager
def _failed_update(cache, block):
    """Serve ``best.pth`` and load it, then change it on the server and
    load it again with ``block`` (the handler's) in the way: the load is
    refused (move the folder) and leaves the cache's two names, no scratch
    file. Yields the URL, the old record and the old file, the server
    still serving the changed file."""
    root, hub = cache
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    _serve_changed(root, 'best.pth', 1)
    with serving(root, _InTheWay) as httpd:
        url = f'{httpd.url}/best.pth'
        assert CheckpointLoader.load_checkpoint(url)['step'] == 1
        old_record = record.read_text()
        old_file = cached.read_bytes()

        _serve_changed(root, 'best.pth', 2)
        _InTheWay.block = staticmethod(block)
        try:
            with pytest.raises(CheckpointLoadError, match='move the folder'):
                CheckpointLoader.load_checkpoint(url)
        finally:
            _InTheWay.block = None
        assert sorted(p.name for p in hub.iterdir()) == [
            'best.pth', 'best.pth' + URL_SUFFIX
        ]
        yield url, old_record, old_file


def test_a_failed_download_of_a_changed_file_keeps_the_old_record(cache):
    hub = cache[1]
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    aside = hub.parent / 'old_best.pth'

    def folder_at_the_file():
        # The old file leaves for the download's time only; a folder
        # takes its name, so that the download cannot be put in place.
        cached.rename(aside)
        cached.mkdir()

    with _failed_update(cache, folder_at_the_file) as failed:
        url, old_record, old_file = failed
        # As it was, less what the handler did: the old record.
        assert record.read_text() == old_record
        cached.rmdir()
        aside.rename(cached)
        assert cached.read_bytes() == old_file

        # The old record still shows the change: the file is downloaded
        # again, not taken as the new one.
        assert CheckpointLoader.load_checkpoint(url)['step'] == 2
        assert record.read_text() != old_record


def test_a_failed_record_of_a_changed_file_keeps_the_old_file(cache):
    """Guard of kept behaviour: where the new record cannot be put in
    place (a folder takes its name), the old file is kept, unchanged, and
    only the folder is left next to it."""
    hub = cache[1]
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    saved = hub.parent / 'old_record'

    def folder_at_the_record():
        record.rename(saved)
        record.mkdir()

    with _failed_update(cache, folder_at_the_record) as (url, _, old_file):
        assert cached.read_bytes() == old_file
        assert record.is_dir()
        shutil.rmtree(record)
        saved.rename(record)
        assert CheckpointLoader.load_checkpoint(url)['step'] == 2
