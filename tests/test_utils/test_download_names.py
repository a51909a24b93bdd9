# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The file name an address is cached under, with a real HTTP server on
127.0.0.1 that answers every path with a checkpoint, through MMEngine's
own loader.

An address whose path ends in ``/..`` or ``/.`` was cached as
``<cache>/..`` (the folder above the cache): the download loaded, but could
not be kept, and the error told the user to move that folder away. A name
too long for a file ended with the cache's record "cannot be read". No
address ever named a file outside the cache; that is guarded here too.
"""
import hashlib
import http.server
import io
import os

import pytest
import torch
from file_server import serving
from mmengine.runner import CheckpointLoader

import mmadaptformer  # noqa: F401  (loads addresses through its cache)

WEIGHTS = {'state_dict': {'w': torch.arange(3.)}}


class AnyPath(http.server.BaseHTTPRequestHandler):
    """Serves the checkpoint at every path, and records the paths asked."""

    asked = []

    def __init__(self, *args, directory=None, **kwargs):
        super().__init__(*args, **kwargs)

    def _head(self):
        buffer = io.BytesIO()
        torch.save(WEIGHTS, buffer)
        body = buffer.getvalue()
        self.asked.append(self.path)
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        return body

    def do_HEAD(self):
        self._head()

    def do_GET(self):
        self.wfile.write(self._head())

    def log_message(self, *args):
        pass


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh hub cache, two folders below ``tmp_path``, and a server."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    with serving(tmp_path, AnyPath) as server:
        yield tmp_path / 'torch_home' / 'hub' / 'checkpoints', server.url


def _load(url):
    return CheckpointLoader.load_checkpoint(url, map_location='cpu')


def _everything_under(tmp_path):
    return sorted(
        os.path.relpath(os.path.join(root, name), tmp_path)
        for root, _, names in os.walk(tmp_path) for name in names)


@pytest.mark.parametrize('tail', ['/runs/..', '/.', '/runs/', '/runs/%2e%2e'])
def test_a_path_that_names_no_file_is_cached_as_checkpoint_pth(
        hub, tail, tmp_path):
    cache, url = hub
    loaded = _load(url + tail)
    assert torch.equal(loaded['state_dict']['w'], WEIGHTS['state_dict']['w'])
    names = sorted(os.listdir(cache))
    if tail == '/runs/%2e%2e':
        # Not decoded: a plain (if odd) file name in the cache.
        assert names == ['%2e%2e', '%2e%2e.url']
    else:
        assert names == ['checkpoint.pth', 'checkpoint.pth.url']
    # Loaded again from the cache: the record names the address.
    assert (cache / names[1]).read_text().splitlines()[0] == url + tail
    asked = len(AnyPath.asked)
    _load(url + tail)
    assert AnyPath.asked[asked:] == [tail]  # a HEAD, not a download


def test_a_name_too_long_for_a_file_is_shortened(hub):
    cache, url = hub
    name = 'x' * 230 + '_20220623-4c544545.pth'  # 252 bytes
    loaded = _load(f'{url}/{name}')
    assert torch.equal(loaded['state_dict']['w'], WEIGHTS['state_dict']['w'])
    cached = [n for n in os.listdir(cache) if not n.endswith('.url')]
    assert len(cached) == 1
    assert cached[0].endswith('_20220623-4c544545.pth')
    assert len(cached[0].encode('utf-8')) <= 160


def _address_hash(url):
    return hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]


def test_a_long_name_is_shortened_after_its_address_hash(hub):
    """One hash-prefix name scheme: a name too long for a file keeps its
    end after the hash of the address, as an address whose name another
    address took; before, the hash of the name (two addresses with that
    name then shared a place, and the second one got two prefixes). A
    download cached under the older name is not found: the address is
    downloaded again, cleanly, and the old file is left."""
    cache, url = hub
    name = 'x' * 230 + '_20220623-4c544545.pth'
    old = hashlib.sha256(name.encode('utf-8')).hexdigest()[:16]
    tail = name[-80:]
    cache.mkdir(parents=True)
    (cache / f'{old}-{tail}').write_bytes(b'an older download')
    first, second = f'{url}/a/{name}', f'{url}/b/{name}'
    _load(first)
    asked = len(AnyPath.asked)
    _load(second)
    assert AnyPath.asked[asked:] == [f'/b/{name}']  # downloaded, not asked
    names = sorted(os.listdir(cache))
    assert names == sorted([
        f'{old}-{tail}', f'{_address_hash(first)}-{tail}',
        f'{_address_hash(first)}-{tail}.url',
        f'{_address_hash(second)}-{tail}',
        f'{_address_hash(second)}-{tail}.url'
    ])
    assert (cache / f'{old}-{tail}').read_bytes() == b'an older download'


@pytest.mark.parametrize('tail', [
    '/../../escaped.pth', '/runs/%2e%2e/%2e%2e/escaped.pth',
    '/%2e%2e%2f%2e%2e%2fescaped.pth', '/x.pth?name=../../escaped.pth',
    '/x.pth#../../escaped.pth'
])
def test_no_address_names_a_file_outside_the_cache(hub, tail, tmp_path):
    """Kept behaviour: dots and encoded slashes stay in the cache."""
    cache, url = hub
    _load(url + tail)
    outside = [
        p for p in _everything_under(tmp_path)
        if not p.startswith(os.path.join('torch_home', 'hub', 'checkpoints'))
    ]
    assert outside == []
    assert len(os.listdir(cache)) == 2
