# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A download that loaded safely but cannot be put in place (its record's
or its own name in the cache became a folder while it downloaded) is
refused by name, and its scratch files (``*.partial``, ``*.partial.url``)
are deleted; nothing else is.

Before, the cleanup covered only the download itself: such a failure
escaped as a bare ``IsADirectoryError`` and left both scratch files in the
cache. The checkpoint is served by a real HTTP server on 127.0.0.1 whose
handler makes the folder while it serves the file.

A file whose name promises its hash, checked but whose record cannot be
written, is used with a warning instead of failing with a bare
``PermissionError``.
"""
import hashlib
import logging
from pathlib import Path

import other_user
import pytest
import torch
from file_server import QuietHandler, serving
from mmengine.runner import CheckpointLoader
from other_user import as_another_user

from mmadaptformer.utils import CheckpointLoadError, download_hash
from mmadaptformer.utils.download_cache import URL_SUFFIX

# Paths under it are open to the other user of as_another_user.
open_tmp_path = other_user.open_tmp_path


class _FolderWhileServing(QuietHandler):
    """Makes the folder ``blocker`` (with a file in it, so that nothing
    could remove it unnoticed) before serving a ``GET``."""

    blocker = None

    def do_GET(self):
        self.blocker.mkdir()
        (self.blocker / 'inside.txt').write_text('kept')
        super().do_GET()


@pytest.mark.parametrize('blocked', ['record', 'file'])
def test_a_download_that_cannot_be_kept_leaves_no_scratch_files(
        blocked, tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    root = tmp_path / 'served'
    root.mkdir()
    torch.save({'step': 1}, root / 'best.pth')
    cached = hub / 'best.pth'
    target = hub / ('best.pth' + URL_SUFFIX) if blocked == 'record' else cached

    class Handler(_FolderWhileServing):
        blocker = target

    with serving(root, Handler) as httpd:
        url = f'{httpd.url}/best.pth'
        with pytest.raises(CheckpointLoadError) as error:
            CheckpointLoader.load_checkpoint(url)
        assert str(error.value) == (
            f'The download of {url} loaded safely but could not be kept in '
            f'the cache: {target} could not be written (Is a directory; '
            'IsADirectoryError). Its scratch files were deleted; move the '
            f'folder {target} away and load {url} again.')
        # Only the folder is left: where the file itself was blocked, the
        # record that went in first is taken out again.
        assert {p.name for p in hub.iterdir()} == {target.name}
        assert (target / 'inside.txt').read_text() == 'kept'

        # Moved away as the error says, the address downloads and loads.
        target.rename(hub / 'moved')
        Handler.blocker = tmp_path / 'not_in_the_cache'
        assert CheckpointLoader.load_checkpoint(url) == {'step': 1}
        assert cached.is_file()
        assert (hub / 'best.pth.url').read_text().splitlines()[0] == url


def test_a_checked_file_whose_record_cannot_be_written_is_used(
        open_tmp_path, monkeypatch, log_records):
    """A file placed in the cache under a name that promises its hash is
    checked and then recorded. Where the record cannot be written (the
    cache folder is not writable), the load died with a bare
    ``PermissionError``; the checked file is used, with a warning that
    says why the next load hashes it again, and no scratch file is
    left."""
    # The test server on 127.0.0.1 counts as a publisher whose names
    # promise their hash; nothing is asked of it (the name says it all).
    monkeypatch.setattr(download_hash, 'HASHED_NAME_HOSTS',
                        download_hash.HASHED_NAME_HOSTS + ('127.0.0.1', ))
    base = Path(open_tmp_path)
    monkeypatch.setenv('TORCH_HOME', str(base / 'torch_home'))
    hub = base / 'torch_home' / 'hub' / 'checkpoints'
    hub.mkdir(parents=True)
    placed = base / 'placed.pth'
    torch.save({'step': 1}, placed)
    digest = hashlib.sha256(placed.read_bytes()).hexdigest()[:8]
    cached = hub / f'placed_20220101-{digest}.pth'
    placed.rename(cached)
    hub.chmod(0o555)
    url = f'http://127.0.0.1:9/{cached.name}'

    def work():
        # As root, this runs in a forked child, which logs into its own
        # copy of log_records.
        loaded = CheckpointLoader.load_checkpoint(url)
        warnings = [
            r.getMessage() for r in log_records if r.levelno >= logging.WARNING
        ]
        return '\n'.join([repr(loaded)] + warnings)

    try:
        answers = as_another_user(work).split('\n')
    finally:
        hub.chmod(0o755)
    assert answers == [
        "{'step': 1}",
        f'Using {cached} for {url} (its SHA-256 matches the hash in its '
        'name), but its record could not be written (Permission denied; '
        'PermissionError): each load hashes it again until '
        f'{cached}{URL_SUFFIX} can be written.'
    ]
    assert [p.name for p in hub.iterdir()] == [cached.name]
