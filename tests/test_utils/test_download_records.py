# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A download's ``NAME.url`` record that is not text (a disk error, a file
copied over it) is refused by name, with what to do; it is not taken as
missing, and nothing is deleted.

Before, every load of the address (``CheckpointLoader``, MMEngine's
``load_checkpoint``, :func:`cache_path`) and the output check of a tool
given the address died with a bare ``UnicodeDecodeError``. The checkpoint
is served by a real HTTP server on 127.0.0.1 into a fresh ``TORCH_HOME``.
"""
import os
import os.path as osp
import sys
from pathlib import Path

import other_user
import pytest
import torch
from file_server import serving
from mmengine.runner import CheckpointLoader, load_checkpoint
from other_user import as_another_user

from mmadaptformer.utils import CheckpointLoadError
from mmadaptformer.utils.download_cache import (URL_SUFFIX, cache_path,
                                                fetch_verified)
from mmadaptformer.utils.output_file import output_file_problem

DAMAGE = b'\x80\x02\xff not a record'

# Paths under it are open to the other user of as_another_user.
open_tmp_path = other_user.open_tmp_path


@pytest.fixture
def downloaded(tmp_path, monkeypatch):
    """A download of ``best.pth`` (a Linear's state dict) into a fresh
    ``TORCH_HOME``, with its record; the server still serves the file."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    root = tmp_path / 'served'
    root.mkdir()
    model = torch.nn.Linear(2, 2)
    torch.save({'state_dict': model.state_dict()}, root / 'best.pth')
    with serving(root) as httpd:
        url = f'{httpd.url}/best.pth'
        CheckpointLoader.load_checkpoint(url)
        cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
        yield dict(url=url, hub=hub, cached=cached, record=record, model=model)


@pytest.fixture
def damaged(downloaded):
    """The download, its record then overwritten with binary bytes."""
    downloaded['record'].write_bytes(DAMAGE)
    return downloaded


def _refusal(record, cached, url, what):
    """The refusal of ``record``, which ``what`` describes."""
    return (f"{record}, the download cache's record of the address {cached} "
            f'was downloaded from, {what}, so the cache cannot tell whether '
            f'{cached} is the file {url} names. Nothing was deleted; move '
            f'{record} and {cached} away to download {url} again.')


def _message(damaged):
    return _refusal(
        damaged['record'], damaged['cached'], damaged['url'],
        'is not a text record of an address (byte 0 is not UTF-8): it is '
        'damaged, or another file was copied over it')


#: How a record that is a folder is described.
FOLDER = 'is a folder, not the text file that records an address'


def test_a_record_that_is_not_text_is_refused_by_name(damaged):
    url, hub = damaged['url'], damaged['hub']
    before = sorted(p.name for p in hub.iterdir())
    loads = (lambda: CheckpointLoader.load_checkpoint(url),
             lambda: load_checkpoint(torch.nn.Linear(2, 2), url),
             lambda: cache_path(url), lambda: cache_path(url, str(hub)))
    for load in loads:
        with pytest.raises(CheckpointLoadError) as error:
            load()
        assert str(error.value) == _message(damaged)
    # Not taken as missing (no second download beside it under a hashed
    # name), and nothing deleted or rewritten.
    assert sorted(p.name for p in hub.iterdir()) == before
    assert damaged['record'].read_bytes() == DAMAGE
    assert damaged['cached'].is_file()

    # Moved away as the error says, the address downloads again.
    damaged['record'].rename(damaged['record'].with_suffix('.old'))
    damaged['cached'].rename(damaged['cached'].with_suffix('.old'))
    ckpt = CheckpointLoader.load_checkpoint(url)
    for key, value in damaged['model'].state_dict().items():
        assert torch.equal(ckpt['state_dict'][key], value)
    assert damaged['record'].read_text().splitlines()[0] == url


def test_output_checks_read_a_damaged_record(damaged):
    """Without the address among the inputs, a ``.url`` file that is not
    text is no record (as before); with it, the check guards the address's
    file name instead of crashing."""
    url, cached, record = (damaged['url'], str(damaged['cached']),
                           str(damaged['record']))
    for out in (cached, record):
        assert output_file_problem(out, 'out', []) is None
    inputs = [(url, 'checkpoint')]
    assert output_file_problem(cached, 'out', inputs).startswith(
        f"out {cached} is the download cache's copy of {url} ({cached}): ")
    assert output_file_problem(record, 'out', inputs).startswith(
        f"out {record} is the download cache's record {record} of its copy "
        f'of {url} ({cached}): ')
    elsewhere = str(damaged['hub'].parent / 'result.json')
    assert output_file_problem(elsewhere, 'out', inputs) is None
    assert damaged['record'].read_bytes() == DAMAGE


@pytest.fixture
def foldered(downloaded):
    """The download, its record then replaced by a folder of its name
    (holding a file, so that nothing could remove it unnoticed)."""
    record = downloaded['record']
    record.unlink()
    record.mkdir()
    (record / 'inside.txt').write_text('kept')
    return downloaded


def test_a_record_that_is_a_folder_is_refused_by_name(foldered):
    """Before, every load of the address and :func:`cache_path` died with
    a bare ``IsADirectoryError``."""
    url, hub = foldered['url'], foldered['hub']
    record, cached = str(foldered['record']), str(foldered['cached'])
    before = sorted(p.name for p in hub.iterdir())
    loads = (lambda: CheckpointLoader.load_checkpoint(url),
             lambda: load_checkpoint(torch.nn.Linear(2, 2), url),
             lambda: cache_path(url), lambda: cache_path(url, str(hub)))
    for load in loads:
        with pytest.raises(CheckpointLoadError) as error:
            load()
        assert str(error.value) == _refusal(record, cached, url, FOLDER)
    assert sorted(p.name for p in hub.iterdir()) == before
    assert (foldered['record'] / 'inside.txt').read_text() == 'kept'
    assert foldered['cached'].is_file()


def test_output_checks_read_a_record_that_is_a_folder(foldered):
    """Before, the check of an output given the address died with a bare
    ``IsADirectoryError``. With the address among the inputs, the check
    guards the address's file name; the folder is refused as a folder."""
    url, cached, record = (foldered['url'], str(foldered['cached']),
                           str(foldered['record']))
    assert output_file_problem(cached, 'out', []) is None
    inputs = [(url, 'checkpoint')]
    assert output_file_problem(cached, 'out', inputs).startswith(
        f"out {cached} is the download cache's copy of {url} ({cached}): ")
    for given in ([], inputs):
        assert output_file_problem(record, 'out', given) == (
            f'out {record}: it is a folder; give the file to write.')
    elsewhere = str(foldered['hub'].parent / 'result.json')
    assert output_file_problem(elsewhere, 'out', inputs) is None
    assert (foldered['record'] / 'inside.txt').read_text() == 'kept'


# Paths opened while a test watches (Python's audit events: the real
# ``open`` runs, nothing is replaced). An audit hook cannot be removed, so
# one hook is added once and only records while a test watches.
_OPENED = []
_WATCHING = []


def _record_open(event, args):
    if _WATCHING and event == 'open' and isinstance(args[0], str):
        _OPENED.append(args[0])


sys.addaudithook(_record_open)


def test_a_cached_load_reads_its_record_once(tmp_path, monkeypatch):
    """Loading a cached copy reads its record once, and that one reading
    still asks the server with the recorded validators. Before, the load
    read it twice (once to find it, once more to revalidate)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    root = tmp_path / 'served'
    root.mkdir()
    torch.save({'step': 1}, root / 'best.pth')
    with serving(root) as httpd:
        url = f'{httpd.url}/best.pth'
        cached = cache_path(url)
        assert fetch_verified(url, cached) == {'step': 1}
        record = cached + URL_SUFFIX
        for served, step in (('unchanged', 1), ('changed', 2)):
            if served == 'changed':
                torch.save({
                    'step': 2,
                    'pad': torch.zeros(8)
                }, root / 'best.pth')
            _OPENED.clear()
            _WATCHING.append(True)
            try:
                loaded = fetch_verified(url, cached)
            finally:
                _WATCHING.clear()
            assert loaded['step'] == step, served
            reads = [p for p in _OPENED if p == record]
            # The download of a changed file writes a new record under a
            # scratch name; the record itself is only read.
            assert len(reads) == 1, (served, _OPENED)


def test_a_folder_as_the_record_of_a_missing_file_is_refused(
        tmp_path, monkeypatch):
    """A second address with the same file name is cached under a hashed
    name, whose record :func:`cache_path` does not read. With that file
    missing and its record a folder, the load downloaded the address and
    then died with a bare ``IsADirectoryError``, leaving the download's
    scratch files in the cache. It is refused before downloading."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    for run in ('a', 'b'):
        (tmp_path / run).mkdir()
        torch.save({'run': run}, tmp_path / run / 'best.pth')
    with serving(tmp_path) as httpd:
        first, second = (f'{httpd.url}/{run}/best.pth' for run in 'ab')
        assert CheckpointLoader.load_checkpoint(first) == {'run': 'a'}
        cached = cache_path(second)
        assert cached != str(hub / 'best.pth')
        record = cached + URL_SUFFIX
        os.mkdir(record)
        before = sorted(p.name for p in hub.iterdir())
        with pytest.raises(CheckpointLoadError) as error:
            CheckpointLoader.load_checkpoint(second)
        assert str(error.value) == _refusal(record, cached, second, FOLDER)
        assert sorted(p.name for p in hub.iterdir()) == before
        assert CheckpointLoader.load_checkpoint(first) == {'run': 'a'}


@pytest.mark.parametrize('damage', ['no permission', 'a link that loops'])
def test_a_record_that_cannot_be_read_is_refused_by_name(
        damage, open_tmp_path, monkeypatch):
    """Before, a record that could not be read for another reason than a
    folder (no permission to read it, a link that loops) escaped every
    load of its address as a bare ``PermissionError`` / ``OSError``, and
    the output check of a cached file with it crashed too. The load
    refuses it by name, with the OS error and what to do; the output
    check finds no address in it; nothing is deleted."""
    base = Path(open_tmp_path)
    monkeypatch.setenv('TORCH_HOME', str(base / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(base / 'mmengine_home'))
    hub = base / 'torch_home' / 'hub' / 'checkpoints'
    root = base / 'served'
    root.mkdir()
    torch.save({'step': 1}, root / 'best.pth')
    with serving(root) as httpd:
        url = f'{httpd.url}/best.pth'
        assert CheckpointLoader.load_checkpoint(url) == {'step': 1}
        cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
        if damage == 'no permission':
            record.chmod(0)
            why = 'Permission denied; PermissionError'
        else:
            record.unlink()
            record.symlink_to(record.name)
            why = 'Too many levels of symbolic links; OSError'
        before = sorted(p.name for p in hub.iterdir())

        def work():
            # The cache is open to this user: only the record is not.
            answers = [str(cached.is_file())]
            for load in (lambda: CheckpointLoader.load_checkpoint(url),
                         lambda: cache_path(url)):
                try:
                    load()
                    answers.append('loaded')
                except CheckpointLoadError as e:
                    answers.append(str(e))
            answers.append(repr(output_file_problem(str(cached), 'out', [])))
            return '\n'.join(answers)

        if damage == 'no permission':
            answers = as_another_user(work).split('\n')
        else:
            answers = work().split('\n')
    expected = _refusal(
        record, cached, url, f'cannot be read ({why}): give this user read '
        'access to it if it is a good record, else it is damaged')
    assert answers[:3] == ['True', expected, expected]
    # The output check finds no address in it, and does not crash; as
    # nobody, it refuses the root-owned output only as not writable.
    if damage == 'no permission' and os.geteuid() == 0:
        assert answers[3] == repr(
            f'out {cached}: the file cannot be written (permission denied).')
    else:
        assert answers[3] == 'None'
    assert sorted(p.name for p in hub.iterdir()) == before
    assert cached.is_file() and osp.lexists(record)
