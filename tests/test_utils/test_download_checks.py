# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a download from an address is checked against, and in which order.

A real HTTP server on 127.0.0.1 serves the files. The server counts as a
publisher whose file names promise their SHA-256 (as OpenMMLab's and
PyTorch's do), so the hash in a name is checked.
"""
import hashlib
import os

import pytest
import torch
from file_server import CodePayload, QuietHandler, serving
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import CheckpointLoadError, download_hash


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh torch hub cache for each test."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


@pytest.fixture
def publisher(monkeypatch):
    """127.0.0.1 names its files with their hash, as a publisher does."""
    monkeypatch.setattr(download_hash, 'HASHED_NAME_HOSTS',
                        download_hash.HASHED_NAME_HOSTS + ('127.0.0.1', ))


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cached_files(hub):
    return sorted(os.listdir(hub)) if hub.is_dir() else []


def test_hash_digits_found_past_the_prefix_do_not_match(
        tmp_path, hub, publisher):
    """Guards against comparing the name's digits anywhere in the SHA-256
    (``expected in actual``) instead of as its prefix."""
    root = tmp_path / 'served'
    root.mkdir()
    plain = root / 'plain.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, plain)
    digest = _digest(plain)
    # The file's own digits, but from the middle of its SHA-256.
    name = f'model_20220101-{digest[8:16]}.pth'
    (root / name).write_bytes(plain.read_bytes())
    with serving(root) as httpd:
        url = f'{httpd.url}/{name}'
        with pytest.raises(CheckpointLoadError) as info:
            CheckpointLoader.load_checkpoint(url)
    text = str(info.value)
    assert f'{url} is not the file its name promises' in text, text
    assert f'its SHA-256 starts with {digest[:8]}' in text, text
    assert _cached_files(hub) == []


def test_the_hash_is_checked_before_the_download_is_read(
        tmp_path, hub, publisher):
    """Guards against loading (unpickling) a download before checking it
    against the hash in its name: a file that is not the published one is
    refused as such, without reaching the unpickler."""
    root = tmp_path / 'served'
    root.mkdir()
    marker = tmp_path / 'PAYLOAD_RAN'
    evil = root / 'evil.pth'
    torch.save({'meta': CodePayload(marker)}, evil)
    name = 'vit_20220101-deadbeef.pth'
    (root / name).write_bytes(evil.read_bytes())
    assert not _digest(evil).startswith('deadbeef')
    with serving(root) as httpd:
        url = f'{httpd.url}/{name}'
        with pytest.raises(CheckpointLoadError) as info:
            CheckpointLoader.load_checkpoint(url)
    text = str(info.value)
    assert text.startswith(f'The download of {url} is not the file its name '
                           'promises: its SHA-256 starts with '), text
    assert 'the hash in its name is deadbeef' in text, text
    # Not read: the unpickler's refusal is not what is said.
    assert 'posix.system' not in text and 'Refused' not in text, text
    assert not marker.exists()
    assert _cached_files(hub) == []


class _CutShort(QuietHandler):
    """Announces the whole file, then ends the connection 100 bytes
    early, as a dropped connection does."""

    def do_GET(self):
        path = self.translate_path(self.path)
        with open(path, 'rb') as f:
            data = f.read()
        self.send_response(200)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data[:-100])
        self.wfile.flush()
        self.close_connection = True


def test_a_download_cut_short_is_said_to_be_cut_not_damaged(tmp_path, hub):
    """Guards against dropping the Content-Length check of a download: a
    connection that ends early is then blamed on the file ('truncated or
    corrupted')."""
    root = tmp_path / 'served'
    root.mkdir()
    torch.save({'state_dict': {'w': torch.ones(1000)}}, root / 'w.pth')
    size = (root / 'w.pth').stat().st_size
    with serving(root, _CutShort) as httpd:
        url = f'{httpd.url}/w.pth'
        with pytest.raises(CheckpointLoadError) as info:
            CheckpointLoader.load_checkpoint(url)
    text = str(info.value)
    assert text.startswith(
        f'Could not download checkpoint {url}: the server announced {size} '
        f'bytes and sent {size - 100}. Nothing was kept in the cache'), text
    assert 'truncated' not in text
    assert _cached_files(hub) == []


def test_a_damaged_cached_copy_is_not_taken_for_a_refused_one(tmp_path):
    """Only a cached copy refused for carrying code is renamed to
    ``NAME.refused``: told by the error's type, not by its text. Before, a
    damaged copy whose address held the word ``Refused`` was renamed and
    called refused. A damaged copy is named by its path, which the error
    about the address did not say."""
    from mmadaptformer.utils.download_cache import fetch_cached
    cache = tmp_path / 'cache'
    cache.mkdir()
    url = 'http://127.0.0.1:9/Refused_runs/epoch_1.pth'  # never asked
    (cache / 'epoch_1.pth').write_bytes(b'PK\x03\x04cut short')
    (cache / 'epoch_1.pth.url').write_text(url + '\n')
    with pytest.raises(CheckpointLoadError) as info:
        fetch_cached(url, str(cache))
    cached = cache / 'epoch_1.pth'
    assert str(info.value).endswith(
        f'It is the cached copy {cached}, left as it is: delete it and its '
        f'record {cached}.url to download {url} again.'), str(info.value)
    assert 'renamed' not in str(info.value), str(info.value)
    assert _cached_files(cache) == ['epoch_1.pth', 'epoch_1.pth.url']
