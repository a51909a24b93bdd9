# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Files users are handed instead of a ``torch.save`` checkpoint.

A gzip'd download, a login page saved under the checkpoint's name, a Git
LFS pointer or a safetensors file failed inside PyTorch's unpickler and
were reported as "truncated or corrupted" (``Unsupported operand 31``),
and a safetensors file given by address failed even where PyTorch reads
safetensors, because the download was checked under a temporary name
PyTorch does not recognise. Addresses are served by a real HTTP server on
127.0.0.1.
"""
import gzip
import json
import os
import pickle
import struct
import sys
import textwrap

import numpy as np
import pytest
import torch
from file_server import QuietHandler, serving
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import CheckpointLoadError, safe_torch_load

_HTML = b'<!DOCTYPE html>\n<html><body>Please sign in</body></html>\n'


def _tensors():
    return {
        'patch_embed.projection.weight': torch.arange(6.).reshape(2, 3),
        'cls_token': torch.ones(1, 1, 2)
    }


def _write_safetensors(path, tensors):
    """The safetensors format: a little-endian header length, a JSON
    header, then the raw data."""
    header, blobs, offset = {}, [], 0
    for key, value in tensors.items():
        raw = value.contiguous().numpy().tobytes()
        header[key] = dict(
            dtype='F32',
            shape=list(value.shape),
            data_offsets=[offset, offset + len(raw)])
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode()
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))
    return str(path)


#: A stand-in for the safetensors package, which is not installed here:
#: it reads the format for real (float32 only), so torch.load's own
#: safetensors path runs end to end.
_SAFETENSORS_TORCH = textwrap.dedent('''
    import json, struct
    import torch

    def load_file(filename, device='cpu'):
        with open(filename, 'rb') as f:
            size = struct.unpack('<Q', f.read(8))[0]
            header = json.loads(f.read(size))
            data = f.read()
        out = {}
        for key, info in header.items():
            start, end = info['data_offsets']
            out[key] = torch.frombuffer(
                bytearray(data[start:end]),
                dtype=torch.float32).reshape(info['shape'])
        return out
''')


@pytest.fixture
def safetensors_package(tmp_path, monkeypatch):
    root = tmp_path / 'site'
    (root / 'safetensors').mkdir(parents=True)
    (root / 'safetensors' / '__init__.py').write_text('')
    (root / 'safetensors' / 'torch.py').write_text(_SAFETENSORS_TORCH)
    monkeypatch.syspath_prepend(str(root))
    for name in ('safetensors', 'safetensors.torch'):
        monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.fixture
def no_safetensors(monkeypatch):
    # None in sys.modules makes the import fail, installed or not.
    monkeypatch.setitem(sys.modules, 'safetensors', None)
    monkeypatch.setitem(sys.modules, 'safetensors.torch', None)


class _Handler(QuietHandler):

    def do_GET(self):
        if self.path.startswith('/login/'):
            self.send_response(200)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(_HTML)))
            self.end_headers()
            self.wfile.write(_HTML)
            return
        super().do_GET()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A folder served on 127.0.0.1, and a fresh download cache."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    root = tmp_path / 'served'
    root.mkdir()
    with serving(root, _Handler) as httpd:
        yield root, httpd.url


def _gzipped(path, tensors):
    plain = str(path) + '.plain'
    torch.save(tensors, plain)
    with open(plain, 'rb') as f, gzip.open(path, 'wb') as g:
        g.write(f.read())
    os.remove(plain)


def _error(path):
    with pytest.raises(CheckpointLoadError) as info:
        safe_torch_load(str(path), map_location='cpu')
    return str(info.value)


@pytest.mark.parametrize('kind, expected', [
    ('gzip', 'is gzip-compressed, not a checkpoint written by torch.save: '
     'decompress it first'),
    ('html', 'is an HTML page, not a checkpoint'),
    ('lfs', 'is a Git LFS pointer, not the checkpoint'),
    ('npy', 'is a NumPy .npy array'),
])
def test_other_formats_are_named_not_called_damaged(tmp_path, kind, expected):
    path = tmp_path / 'vit-b.pth'
    if kind == 'gzip':
        _gzipped(path, _tensors())
    elif kind == 'html':
        path.write_bytes(_HTML)
    elif kind == 'lfs':
        path.write_text('version https://git-lfs.github.com/spec/v1\n'
                        'oid sha256:' + '0' * 64 + '\nsize 348\n')
    else:
        with open(path, 'wb') as f:
            np.save(f, np.zeros(3, dtype=np.float32))
    message = _error(path)
    assert message.startswith(f'Checkpoint file {path} (')
    assert expected in message
    assert 'truncated or corrupted' not in message
    assert 'weights_only=False' not in message


def test_text_is_named_but_a_text_pickle_with_code_is_refused(tmp_path):
    """Protocol 0 pickles are text: refused by the global they name, not
    taken for a text file."""
    path = tmp_path / 'denied.pth'
    # What a storage bucket serves for a file it will not give.
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
                    'AccessDenied</Code></Error>\n')
    message = _error(path)
    assert 'is an XML or HTML document, not a checkpoint' in message
    path = tmp_path / 'evil.pth'
    path.write_bytes(pickle.dumps(os.system, protocol=0))
    assert path.read_bytes().isascii()
    message = _error(path)
    assert message.startswith(f'Refused to load checkpoint {path}')
    assert 'system' in message and 'text file' not in message


@pytest.mark.parametrize('name', ['vit-b.safetensors', 'vit-b.pth'])
def test_safetensors_without_the_package_says_what_it_needs(
        tmp_path, no_safetensors, name):
    path = _write_safetensors(tmp_path / name, _tensors())
    message = _error(path)
    assert f'Checkpoint file {path} (' in message
    assert 'is a safetensors file, which torch.load reads' in message
    assert 'the safetensors package' in message
    assert ('a name that ends with .safetensors'
            in message) == name.endswith('.pth')
    assert 'truncated or corrupted' not in message


def test_safetensors_loads_locally_and_by_address(served, safetensors_package):
    """The download is checked under a name PyTorch reads as safetensors:
    under ``NAME.XXXX.partial`` it failed with ``IndexError`` (reported as
    a damaged file) wherever PyTorch reads safetensors."""
    root, url = served
    tensors = _tensors()
    path = _write_safetensors(root / 'vit-b.safetensors', tensors)
    for where in (path, f'{url}/vit-b.safetensors'):
        loaded = CheckpointLoader.load_checkpoint(where, map_location='cpu')
        assert set(loaded) == set(tensors)
        for key, value in tensors.items():
            assert torch.equal(loaded[key], value)


def test_a_page_served_for_a_checkpoint_is_named(served):
    root, url = served
    _gzipped(root / 'vit-b.pth.gz', _tensors())
    cache = os.environ['TORCH_HOME']
    for address, expected in ((f'{url}/login/vit-b.pth', 'an HTML page'),
                              (f'{url}/vit-b.pth.gz?dl=1', 'gzip-compressed')):
        with pytest.raises(CheckpointLoadError) as info:
            CheckpointLoader.load_checkpoint(address)
        message = str(info.value)
        assert message.startswith(f'Checkpoint file {address} (')
        assert f'is {expected}' in message
        assert 'nothing was kept in the cache' in message
    kept = [f for _, _, files in os.walk(cache) for f in files]
    assert kept == []
