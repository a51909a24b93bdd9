# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The download cache against what changes under it while it works.

* A load of a cached address through ``CheckpointLoader`` reads the
  address's ``.url`` record once: before, :func:`cache_path` read it to
  place the file and :func:`fetch_verified` read it again to vouch for the
  file and ask the server, so that the two steps could act on two versions.
  :func:`fetch_cached` now places and loads with one reading.
* A cached file that turns into a folder while the download of its new
  version is put in place is refused by name, and the folder and the old
  record stay as they were. Before, the folder was moved to a scratch name
  (``NAME.XXXX.partial.old``) and the load died with a bare
  ``IsADirectoryError`` after putting the download and its new record in
  place.
* A cached file taken away just before the download of its new version
  replaces it leaves a first download, put in place. Before, the load died
  telling the user to make the file and its folder writable.
* Where a first download cannot be put in place and its record cannot be
  put back either, the error says why the download was not kept and where
  the record was left. Before, a bare ``IsADirectoryError`` about the
  record replaced the error that named the download's place.
* Where the old record is to be put back through its scratch name and
  another process has made a folder of that name, the error says why the
  download was not kept and names the folder, which is left as it is.
  Before, the put-back tried to delete whatever had the scratch name, and
  that error replaced the one the put-back met.

The checkpoints are served by a real HTTP server on 127.0.0.1. What
happens in between is done from a Python audit hook (the real ``open`` and
``os.replace`` run; nothing is replaced): an audit hook cannot be removed,
so one hook is added once and only acts while a test sets ``_ON``.
"""
import os
import sys

import pytest
import torch
from file_server import serving
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import CheckpointLoadError
from mmadaptformer.utils.download_cache import (URL_SUFFIX, cache_path,
                                                fetch_verified)

# What the hook calls with each audit event while a test watches.
_ON = []


def _hook(event, args):
    if _ON:
        _ON[0](event, args)


sys.addaudithook(_hook)


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A fresh ``TORCH_HOME``, and ``best.pth`` served on 127.0.0.1."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    root = tmp_path / 'served'
    root.mkdir()
    _serve(root, 1)
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    with serving(root) as httpd:
        yield root, hub, f'{httpd.url}/best.pth'
    _ON.clear()


def _serve(root, step):
    """Serve another ``best.pth`` (another size, a later time)."""
    path = root / 'best.pth'
    torch.save({'step': step, 'pad': torch.zeros(step)}, path)
    mtime = os.stat(path).st_mtime + 3600 * step
    os.utime(path, (mtime, mtime))


def test_a_load_of_a_cached_address_reads_its_record_once(served):
    root, hub, url = served
    record = str(hub / ('best.pth' + URL_SUFFIX))
    assert CheckpointLoader.load_checkpoint(url)['step'] == 1
    for step in (1, 2):
        _serve(root, step)
        opened = []
        _ON.append(
            lambda event, args: event == 'open' and opened.append(args[0]))
        try:
            assert CheckpointLoader.load_checkpoint(url)['step'] == step
        finally:
            _ON.clear()
        # The download of a changed file writes its new record under a
        # scratch name; the record itself is only read.
        assert [p for p in opened if p == record] == [record], opened


def test_a_path_held_across_a_new_download_reads_the_new_record(served):
    """Guard of kept behaviour: :func:`cache_path` only places the file;
    :func:`fetch_verified` reads the record when it is called. A path held
    while another load downloads a new version (a new record) is loaded
    with the new record: it is not asked about again as the old version,
    and its file is the new one."""
    root, hub, url = served
    held = cache_path(url)
    assert CheckpointLoader.load_checkpoint(url)['step'] == 1
    _serve(root, 2)
    assert CheckpointLoader.load_checkpoint(url)['step'] == 2
    heads = []
    _ON.append(lambda event, args: event == 'urllib.Request' and heads.append(
        args[3]))
    try:
        assert fetch_verified(url, held)['step'] == 2
    finally:
        _ON.clear()
    # Asked once whether it changed (a HEAD), not downloaded again.
    assert heads == ['HEAD']


def test_a_cached_file_that_became_a_folder_is_not_moved_away(served):
    root, hub, url = served
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    aside = hub.parent / 'old_best.pth'
    assert CheckpointLoader.load_checkpoint(url)['step'] == 1
    old_record = record.read_text()
    _serve(root, 2)

    def folder_before_the_move(event, args):
        # Just before the old copy is moved aside, another process takes
        # it away and makes a folder of its name.
        if event == 'os.rename' and args[0] == str(cached):
            _ON.clear()
            cached.rename(aside)
            cached.mkdir()
            (cached / 'inside.txt').write_text('kept')

    _ON.append(folder_before_the_move)
    with pytest.raises(CheckpointLoadError) as error:
        CheckpointLoader.load_checkpoint(url)
    assert str(error.value) == (
        f'The download of {url} loaded safely but could not be kept in '
        f'the cache: {cached} could not be written (Is a directory; '
        'IsADirectoryError). Its scratch files were deleted; move the '
        f'folder {cached} away and load {url} again.')
    # The folder is where it was, with what it holds, beside the old
    # record; no scratch file is left.
    assert sorted(p.name for p in hub.iterdir()) == [
        'best.pth', 'best.pth' + URL_SUFFIX
    ]
    assert (cached / 'inside.txt').read_text() == 'kept'
    assert record.read_text() == old_record

    # Moved away as the error says, the address downloads and loads.
    os.rename(cached, hub.parent / 'moved')
    assert CheckpointLoader.load_checkpoint(url)['step'] == 2


def test_a_cached_file_taken_away_before_its_replacement_is_a_first_download(
        served):
    root, hub, url = served
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    assert CheckpointLoader.load_checkpoint(url)['step'] == 1
    old_record = record.read_text()
    _serve(root, 2)

    def gone_before_the_move(event, args):
        # Just before the old copy is moved aside, another process
        # deletes it.
        if event == 'os.rename' and args[0] == str(cached):
            _ON.clear()
            cached.unlink()

    _ON.append(gone_before_the_move)
    assert CheckpointLoader.load_checkpoint(url)['step'] == 2
    # The download and its new record are in place; no scratch file.
    assert sorted(p.name for p in hub.iterdir()) == [
        'best.pth', 'best.pth' + URL_SUFFIX
    ]
    assert torch.load(cached)['step'] == 2
    assert record.read_text() != old_record
    assert record.read_text().splitlines()[0] == url
    heads = []
    _ON.append(lambda event, args: event == 'urllib.Request' and heads.append(
        args[3]))
    assert CheckpointLoader.load_checkpoint(url)['step'] == 2
    # The new record's validators are the served file's: not downloaded.
    assert heads == ['HEAD']


@pytest.mark.parametrize('had_record', [False, True])
def test_a_record_that_cannot_be_put_back_is_named_in_the_error(
        served, had_record):
    root, hub, url = served
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    if had_record:
        # A record left without its file: replaced by the download, and
        # to be put back where the download cannot be kept.
        assert CheckpointLoader.load_checkpoint(url)['step'] == 1
        cached.unlink()

    def folders_before_the_move(event, args):
        # Just before the download takes its name, another process makes
        # folders of that name and of its record's.
        if event == 'os.rename' and args[1] == str(cached):
            _ON.clear()
            cached.mkdir()
            record.unlink()
            record.mkdir()

    _ON.append(folders_before_the_move)
    with pytest.raises(CheckpointLoadError) as error:
        CheckpointLoader.load_checkpoint(url)
    kept = (f'The download of {url} loaded safely but could not be kept in '
            f'the cache: {cached} could not be written (Is a directory; '
            'IsADirectoryError). Its scratch files were deleted; move the '
            f'folder {cached} away and load {url} again.')
    if had_record:
        undone = (f'The old record {record} (of a file no longer there) '
                  'could not be put back (Is a directory; '
                  f'IsADirectoryError); {record} was left as it is now.')
    else:
        undone = (f'The record it wrote, {record}, could not be deleted '
                  'again (Is a directory; IsADirectoryError); it was left '
                  f'there, without a file {cached}.')
    assert str(error.value) == f'{kept} {undone}'
    # Only the two folders are left: no scratch file.
    assert sorted(p.name for p in hub.iterdir()) == [
        'best.pth', 'best.pth' + URL_SUFFIX
    ]
    assert cached.is_dir() and record.is_dir()


def test_a_record_that_names_another_address_is_refused(served):
    """Not a race: a file at an address's hashed name whose record names
    another address (copied or renamed there by hand). Before, it was
    loaded as the address's, or checked against the server with the other
    file's validators."""
    root, hub, url = served
    (root / 'a').mkdir()
    _serve(root / 'a', 1)
    other = url.replace('/best.pth', '/a/best.pth')
    # The other address takes the file name, so url goes to its hashed
    # name.
    assert CheckpointLoader.load_checkpoint(other)['step'] == 1
    hashed = cache_path(url)
    assert hashed != str(hub / 'best.pth')
    torch.save({'step': 'another'}, hashed)
    with open(hashed + URL_SUFFIX, 'w') as f:
        f.write('http://models.example.org/best.pth\n')
    with pytest.raises(CheckpointLoadError) as error:
        CheckpointLoader.load_checkpoint(url)
    assert str(error.value) == (
        f'{hashed}{URL_SUFFIX} records that {hashed} was downloaded from '
        f"'http://models.example.org/best.pth', not from {url}: it is not "
        f'the file {url} names. Nothing was deleted; move {hashed} and its '
        f'record away to download {url} again.')
    assert torch.load(hashed) == {'step': 'another'}


@pytest.mark.parametrize('when', ['before_writing', 'before_the_move'])
def test_a_folder_at_the_put_back_scratch_name_is_left_and_named(served, when):
    """The old record is put back through a scratch file
    (``NAME.partial.old`` in the download's scratch folder
    ``NAME.XXXX.partial``). Another process makes a folder of that
    name before the put-back writes it, or puts one in place of the file
    it wrote before the move. The put-back deletes only a file it wrote:
    the folder is left with what it holds, and the error is the
    put-back's own, naming the folder."""
    root, hub, url = served
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    # A record left without its file: replaced by the download, and to be
    # put back where the download cannot be kept.
    assert CheckpointLoader.load_checkpoint(url)['step'] == 1
    cached.unlink()
    scratch = []
    shown = []
    removed = []

    def in_the_way(event, args):
        if event == 'os.remove' and scratch and os.path.isdir(scratch[0]):
            # Asked to delete something once the folder is there.
            removed.append(str(args[0]))
        elif event == 'os.rename' and args[1] == str(cached):
            # Just before the download takes its name, another process
            # makes a folder of that name (so it cannot be kept) and, or
            # later, one of the put-back's scratch name.
            cached.mkdir()
            scratch.append(args[0] + '.old')
            # As errors name it: the download's scratch folder (held open,
            # /proc/self/fd/N) by its name.
            shown.append(
                os.path.join(
                    os.path.realpath(os.path.dirname(args[0])),
                    os.path.basename(scratch[0])))
            if when == 'before_writing':
                _make_folder(scratch[0])
        elif (event == 'os.rename' and scratch and args[0] == scratch[0]
              and when == 'before_the_move'):
            os.unlink(scratch[0])
            _make_folder(scratch[0])

    _ON.append(in_the_way)
    try:
        with pytest.raises(CheckpointLoadError) as error:
            CheckpointLoader.load_checkpoint(url)
    finally:
        _ON.clear()
    folder = shown[0]
    # The put-back's own error: making its scratch file, or moving it.
    why = ('File exists; FileExistsError' if when == 'before_writing' else
           'Not a directory; NotADirectoryError')
    assert str(error.value) == (
        f'The download of {url} loaded safely but could not be kept in '
        f'the cache: {cached} could not be written (Is a directory; '
        'IsADirectoryError). Its scratch files were deleted; move the '
        f'folder {cached} away and load {url} again. The old record '
        f'{record} (of a file no longer there) could not be put back '
        f'({why}); {record} was left as it is now. {folder}, through which '
        'it was to be put back, was left as it is.')
    # The folder was not asked to be deleted, and holds what it held.
    assert folder not in removed
    assert os.listdir(folder) == ['inside.txt']
    # The download's scratch folder is left, since it holds the folder.
    assert sorted(p.name for p in hub.iterdir()) == sorted([
        'best.pth', 'best.pth' + URL_SUFFIX,
        os.path.basename(os.path.dirname(folder))
    ])


def _make_folder(path):
    os.mkdir(path)
    with open(os.path.join(path, 'inside.txt'), 'w') as f:
        f.write('kept')
