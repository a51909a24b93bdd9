# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A cached download damaged on disk is told apart by the SHA-256 its
record keeps.

PyTorch's loader does not check a checkpoint zip's CRCs: a cached copy with
64 flipped bytes in a tensor's data loaded through ``CheckpointLoader``
(and every other path to the download cache) with other weights and no
word, while the server kept answering ``HEAD`` with the recorded
validators. Now the record holds the download's SHA-256; a copy that does
not match it is downloaded again, with a warning naming it, or, where the
address cannot be downloaded, refused naming the copy and the address.
Served by a real HTTP server on 127.0.0.1 into a fresh ``TORCH_HOME``.
"""
import pytest
import torch
from file_server import serving
from mmengine.logging import MMLogger
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import CheckpointLoadError
from mmadaptformer.utils.download_cache import URL_SUFFIX
from mmadaptformer.utils.download_hash import SHA256_FIELD, file_sha256


@pytest.fixture
def served(tmp_path, monkeypatch):
    """``best.pth`` (a Linear's state dict) served, downloaded once into a
    fresh ``TORCH_HOME``; the server keeps serving it."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    root = tmp_path / 'served'
    root.mkdir()
    torch.manual_seed(0)
    weights = torch.nn.Linear(64, 64).state_dict()
    torch.save({'state_dict': weights}, root / 'best.pth')
    with serving(root) as httpd:
        url = f'{httpd.url}/best.pth'
        CheckpointLoader.load_checkpoint(url)
        yield dict(
            url=url,
            root=root,
            cached=hub / 'best.pth',
            record=hub / ('best.pth' + URL_SUFFIX),
            weights=weights)


def _damage(path):
    """Flip bytes in the middle of the file (a tensor's data)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_download_records_its_sha256(served):
    lines = served['record'].read_text().splitlines()
    assert f'{SHA256_FIELD}: {file_sha256(served["cached"])}' in lines


def test_a_damaged_copy_is_downloaded_again(served, capsys):
    _damage(served['cached'])
    MMLogger.get_instance('damaged_copy_F', log_level='WARNING')
    loaded = CheckpointLoader.load_checkpoint(served['url'])
    assert _same(loaded['state_dict'], served['weights'])
    assert served['cached'].read_bytes() == (served['root'] /
                                             'best.pth').read_bytes()
    said = ' '.join(capsys.readouterr().out.split())
    assert (f'The cached copy {served["cached"]} of {served["url"]} is '
            'damaged (its SHA-256 is ') in said, said
    assert 'downloading it again' in said


def test_a_killed_loads_scratch_folder_does_not_hide_damage(served, capsys):
    """A load killed mid-download leaves its scratch folder: a copy
    damaged later was announced at INFO as being replaced by another load
    (invisible at WARNING); a folder untouched for 10 minutes is no load
    in progress."""
    import os
    import time
    stale = served['cached'].parent / 'best.pth.abcd1234.partial'
    stale.mkdir(mode=0o700)
    (stale / 'best.pth.partial').write_bytes(b'half')
    old = time.time() - 3600
    for path in (stale / 'best.pth.partial', stale):
        os.utime(path, (old, old))
    _damage(served['cached'])
    MMLogger.get_instance('damaged_copy_stale', log_level='WARNING')
    CheckpointLoader.load_checkpoint(served['url'])
    said = ' '.join(capsys.readouterr().out.split())
    assert (f'The cached copy {served["cached"]} of {served["url"]} is '
            'damaged (its SHA-256 is ') in said, said


def test_a_damaged_copy_that_cannot_be_downloaded_is_refused(served):
    _damage(served['cached'])
    damaged = served['cached'].read_bytes()
    (served['root'] / 'best.pth').unlink()
    with pytest.raises(CheckpointLoadError) as refused:
        CheckpointLoader.load_checkpoint(served['url'])
    message = str(refused.value)
    assert message.startswith(
        f'Could not download checkpoint {served["url"]}: HTTP 404')
    assert (f'The cached copy {served["cached"]} is damaged (its SHA-256 '
            'is ') in message
    assert f'delete it and its record {served["record"]}' in message
    # Left as it is, with its record: nothing was deleted.
    assert served['cached'].read_bytes() == damaged
    assert served['record'].exists()


def test_a_record_without_a_hash_is_used_as_before(served):
    """Guards kept behaviour: a record written before hashes were recorded
    vouches for its file as it did (nothing to compare with)."""
    record = served['record']
    record.write_text(''.join(line + '\n'
                              for line in record.read_text().splitlines()
                              if not line.startswith(SHA256_FIELD)))
    loaded = CheckpointLoader.load_checkpoint(served['url'])
    assert _same(loaded['state_dict'], served['weights'])
