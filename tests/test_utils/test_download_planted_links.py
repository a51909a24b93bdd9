# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A download cache that others can write in (a group's shared hub cache)
never lets them pick a file of this user's for the download to write.

A real HTTP server on 127.0.0.1 plays the other user: while it answers
the request, it replaces the download's scratch file with a link to the
user's file, or plants a link at the scratch name of its record. Before,
``open(partial, 'wb')`` wrote the checkpoint over the user's file, and
the record's ``open(scratch, 'w')`` truncated it to the address; a
file found in the cache by its hashed name had its record written through
a fixed scratch name (``NAME.record.url``) that anyone could plant first.
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


def _handler(cache, precious, plant):
    """A handler that, before it answers, plants a link to ``precious``:
    at the download's scratch file (``plant='partial'``) or at the scratch
    name of its record (``'record'``)."""

    class Planting(http.server.BaseHTTPRequestHandler):

        def __init__(self, *args, directory=None, **kwargs):
            super().__init__(*args, **kwargs)

        def do_GET(self):
            for name in os.listdir(cache):
                if name.endswith('.partial'):
                    path = os.path.join(cache, name)
                    if plant == 'partial':
                        os.remove(path)
                        os.symlink(precious, path)
                    elif plant == 'hardlink':
                        os.remove(path)
                        os.link(precious, path)
                    else:
                        os.symlink(precious, path + '.url')
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


def test_a_link_planted_at_the_download_is_not_written_through(
        place, tmp_path):
    cache, precious = place
    with serving(tmp_path, _handler(str(cache), str(precious),
                                    'partial')) as server:
        url = f'{server.url}/epoch_1.pth'
        with pytest.raises(CheckpointLoadError) as info:
            fetch_cached(url, str(cache))
    assert precious.read_text() == PRECIOUS
    assert 'was replaced by a symbolic link while it downloaded' in str(
        info.value)
    assert str(info.value).startswith(f'Could not download checkpoint {url}')
    # Nothing of the download was kept; the planted link was removed.
    assert os.listdir(cache) == []


def test_a_hard_link_planted_at_the_download_is_not_written_through(
        place, tmp_path):
    """A hard link is no symbolic link: opening the scratch file again by
    its name with ``O_NOFOLLOW`` wrote the download into the linked file
    (and then kept that file in the cache as the address's)."""
    cache, precious = place
    with serving(tmp_path, _handler(str(cache), str(precious),
                                    'hardlink')) as server:
        url = f'{server.url}/epoch_1.pth'
        with pytest.raises(CheckpointLoadError) as info:
            fetch_cached(url, str(cache))
    assert precious.read_text() == PRECIOUS
    assert 'was replaced by another file while it downloaded' in str(
        info.value)
    assert os.listdir(cache) == []


def test_a_link_planted_at_the_record_is_not_written_through(place, tmp_path):
    cache, precious = place
    with serving(tmp_path, _handler(str(cache), str(precious),
                                    'record')) as server:
        url = f'{server.url}/epoch_1.pth'
        with pytest.raises(CheckpointLoadError, match='File exists'):
            fetch_cached(url, str(cache))
    assert precious.read_text() == PRECIOUS
    # The download was not kept; the link, not this user's, was left.
    names = os.listdir(cache)
    assert len(names) == 1 and names[0].endswith('.partial.url')
    assert os.path.islink(cache / names[0])


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
    assert (cache / f'{name}.url').read_text() == url + '\n'
