# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The download cache hashes a file once where it needs its SHA-256 twice.

A published download (its name ends in its hash) was hashed for its record
and then again against its name (a second read of a ViT-B, ~0.8 s here);
a published file found in the cache without a record was hashed and got
a record without that hash, so a copy damaged later was not told apart.
Served by a real HTTP server on 127.0.0.1 into a fresh ``TORCH_HOME``.
"""
import hashlib

import pytest
import torch
from file_server import serving
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import download_hash, download_new
from mmadaptformer.utils.download_cache import URL_SUFFIX
from mmadaptformer.utils.download_hash import SHA256_FIELD


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh torch hub cache; 127.0.0.1 names its files with their hash,
    as a publisher does."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    monkeypatch.setattr(download_hash, 'HASHED_NAME_HOSTS',
                        download_hash.HASHED_NAME_HOSTS + ('127.0.0.1', ))
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


def _published(folder, tmp_path):
    """A checkpoint in ``folder`` named with its hash; its name and
    SHA-256."""
    scratch = tmp_path / 'w.pth'
    torch.save({'state_dict': torch.nn.Linear(4, 4).state_dict()}, scratch)
    digest = hashlib.sha256(scratch.read_bytes()).hexdigest()
    name = f'vit_20220101-{digest[:8]}.pth'
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(scratch.read_bytes())
    return name, digest


def test_a_published_download_is_hashed_once(tmp_path, hub, monkeypatch):
    root = tmp_path / 'served'
    name, digest = _published(root, tmp_path)
    hashed = []
    real = download_hash.file_sha256

    def counted(path):
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(download_hash, 'file_sha256', counted)
    monkeypatch.setattr(download_new, 'file_sha256', counted)
    with serving(root) as httpd:
        CheckpointLoader.load_checkpoint(f'{httpd.url}/{name}')
    assert len(hashed) == 1, hashed
    assert f'{SHA256_FIELD}: {digest}' in (
        hub / (name + URL_SUFFIX)).read_text().splitlines()


def test_an_unrecorded_published_file_is_recorded_with_its_hash(tmp_path, hub):
    name, digest = _published(hub, tmp_path)
    # Never asked: a published name with a hash is not revalidated.
    url = f'http://127.0.0.1:9/{name}'
    CheckpointLoader.load_checkpoint(url)
    lines = (hub / (name + URL_SUFFIX)).read_text().splitlines()
    assert lines[0] == url
    assert f'{SHA256_FIELD}: {digest}' in lines, lines
