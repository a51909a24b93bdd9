# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A download cache that others can write in (a group's shared hub cache)
never lets them pick a file of this user's for a record to write.

A real HTTP server on 127.0.0.1 plays the other process: while it answers
the request, it plants a link at the scratch name of the download's
record. Before, the record's ``open(scratch, 'w')`` truncated the linked
file to the address; a file found in the cache by its hashed name had its
record written through a fixed scratch name (``NAME.record.url``) that
anyone could plant first. (The download's own scratch files are in a
folder no other user can write in: test_download_scratch.py.)
"""
import hashlib
import http.server
import io
import os

import pytest
import torch
from file_server import serving

from mmadaptformer.utils import CheckpointLoadError, download_hash
from mmadaptformer.utils.download_cache import fetch_cached

PRECIOUS = 'precious\n'


def _checkpoint_bytes():
    buffer = io.BytesIO()
    torch.save({'state_dict': {'w': torch.arange(3.)}}, buffer)
    return buffer.getvalue()


def _handler(cache, precious):
    """A handler that, before it answers, plants a link to ``precious`` at
    the scratch name of the download's record."""

    class Planting(http.server.BaseHTTPRequestHandler):

        def __init__(self, *args, directory=None, **kwargs):
            super().__init__(*args, **kwargs)

        def do_GET(self):
            for name in os.listdir(cache):
                if name.endswith('.partial'):
                    # The download's own folder: only this user (as
                    # here) can plant in it.
                    folder = os.path.join(cache, name)
                    for inner in os.listdir(folder):
                        os.symlink(precious,
                                   os.path.join(folder, inner) + '.url')
            body = _checkpoint_bytes()
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Planting


@pytest.fixture
def place(tmp_path):
    cache = tmp_path / 'cache'
    cache.mkdir()
    precious = tmp_path / 'precious.txt'
    precious.write_text(PRECIOUS)
    return cache, precious


def test_a_link_planted_at_the_record_is_not_written_through(place, tmp_path):
    cache, precious = place
    with serving(tmp_path, _handler(str(cache), str(precious))) as server:
        url = f'{server.url}/epoch_1.pth'
        with pytest.raises(CheckpointLoadError, match='File exists'):
            fetch_cached(url, str(cache))
    assert precious.read_text() == PRECIOUS
    # The download was not kept; the link was left, in the download's
    # folder, which is not deleted while it holds it.
    names = os.listdir(cache)
    assert len(names) == 1 and names[0].endswith('.partial')
    inner = os.listdir(cache / names[0])
    assert len(inner) == 1 and inner[0].endswith('.partial.url')
    assert os.path.islink(cache / names[0] / inner[0])


def test_the_record_of_a_file_found_by_its_hash_has_a_scratch_name_of_its_own(
        place, monkeypatch):
    """A published file put in the cache by hand is vouched for by its
    hash and recorded; its record's scratch name was ``NAME.record.url``,
    which a link could take first."""
    cache, precious = place
    monkeypatch.setattr(download_hash, 'HASHED_NAME_HOSTS',
                        download_hash.HASHED_NAME_HOSTS + ('127.0.0.1', ))
    body = _checkpoint_bytes()
    digest = hashlib.sha256(body).hexdigest()[:8]
    name = f'vit_20220623-{digest}.pth'
    (cache / name).write_bytes(body)
    os.symlink(precious, cache / f'{name}.record.url')
    url = f'http://127.0.0.1:9/{name}'  # never asked: the hash vouches
    loaded = fetch_cached(url, str(cache))
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.))
    assert precious.read_text() == PRECIOUS
    # Recorded as a download is: its address, then its SHA-256.
    assert (cache / f'{name}.url').read_text() == (
        f'{url}\nsha256: {hashlib.sha256(body).hexdigest()}\n')
