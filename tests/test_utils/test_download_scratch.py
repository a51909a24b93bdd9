# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A download of the download cache is written, checked, loaded and moved
into place in a folder of its own, which no other user can write in, held
open: in a cache others can write in (a group's shared hub cache), no one
can swap the download between its check and its move.

A real HTTP server on 127.0.0.1 plays the other user: while it answers
the request, it tries to put a link to one of this user's files in place
of the download. Before, the scratch file was a file in the cache folder
itself: anyone who could write there could replace it, and a check by
its name (``check_scratch``) before the hash check, the load and the move
(each by the name again) left a window between them.
"""
import http.server
import io
import os
import shutil
import stat
import subprocess
import tempfile

import pytest
import torch
from file_server import serving

from mmadaptformer.utils import CheckpointLoadError, download_new
from mmadaptformer.utils.download_cache import URL_SUFFIX, fetch_cached
from mmadaptformer.utils.download_scratch import scratch_folder

PRECIOUS = 'precious\n'
NOBODY = 65534


def _checkpoint_bytes():
    buffer = io.BytesIO()
    torch.save({'state_dict': {'w': torch.arange(3.)}}, buffer)
    return buffer.getvalue()


def _scratch(cache):
    """The download's scratch entry in ``cache`` and its scratch file."""
    names = [n for n in os.listdir(cache) if n.endswith('.partial')]
    assert len(names) == 1, os.listdir(cache)
    entry = os.path.join(cache, names[0])
    if os.path.isdir(entry):
        inner = os.listdir(entry)
        assert len(inner) == 1, inner
        return entry, os.path.join(entry, inner[0])
    return entry, entry  # Before: a scratch file in the cache folder.


def _handler(before_answering):
    """Answers a checkpoint, after ``before_answering()``."""

    class Swapping(http.server.BaseHTTPRequestHandler):

        def __init__(self, *args, directory=None, **kwargs):
            super().__init__(*args, **kwargs)

        def do_GET(self):
            before_answering()
            body = _checkpoint_bytes()
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Swapping


def _assert_the_download_was_kept(cache, precious):
    cached = os.path.join(cache, 'epoch_1.pth')
    assert stat.S_ISREG(os.lstat(cached).st_mode)
    assert torch.equal(torch.load(cached)['state_dict']['w'], torch.arange(3.))
    assert precious.read_text() == PRECIOUS


def test_the_download_is_made_in_a_folder_of_this_user_alone(tmp_path):
    cache = tmp_path / 'cache'
    cache.mkdir()
    seen = []

    def look():
        entry, _ = _scratch(cache)
        seen.append(os.lstat(entry))

    with serving(tmp_path, _handler(look)) as server:
        fetch_cached(f'{server.url}/epoch_1.pth', str(cache))
    assert stat.S_ISDIR(seen[0].st_mode)
    assert stat.S_IMODE(seen[0].st_mode) == 0o700
    assert seen[0].st_uid == os.geteuid()
    # Gone once the download is in place.
    assert sorted(os.listdir(cache)) == ['epoch_1.pth', 'epoch_1.pth.url']


def test_a_setgid_cache_folder_downloads(tmp_path):
    """A group's shared cache folder is often setgid (``chmod g+s``): the
    download's folder is then made 0o2700, still this user's alone. Before,
    only exactly 0o700 passed, and every download into such a cache was
    refused as 'replaced while it was made'."""
    cache = tmp_path / 'cache'
    cache.mkdir()
    os.chmod(cache, 0o2775)
    if not os.stat(cache).st_mode & stat.S_ISGID:
        pytest.skip('this file system keeps no setgid bit on folders')
    precious = tmp_path / 'precious.txt'
    precious.write_text(PRECIOUS)
    with serving(tmp_path, _handler(lambda: None)) as server:
        fetch_cached(f'{server.url}/epoch_1.pth', str(cache))
    _assert_the_download_was_kept(cache, precious)


def test_a_folder_put_in_place_of_the_downloads_is_not_used(tmp_path):
    """Someone who can write in the cache folder renames the download's
    folder away and puts one of their own, with a link to this user's file
    at the download's name, in its place (here as this user). The
    download is checked, loaded and moved from the folder it was written
    in, held open: the link is not used. Before, the scratch file was
    replaced by the link and the load refused it."""
    cache = tmp_path / 'cache'
    cache.mkdir()
    precious = tmp_path / 'precious.txt'
    precious.write_text(PRECIOUS)
    planted = []

    def swap():
        entry, inner = _scratch(cache)
        if entry == inner:  # Before: a file to replace.
            os.remove(entry)
        else:
            os.rename(entry, entry + '.moved')
            os.mkdir(entry)
        os.symlink(precious, inner)
        planted.append(inner)

    with serving(tmp_path, _handler(swap)) as server:
        url = f'{server.url}/epoch_1.pth'
        fetch_cached(url, str(cache))
    _assert_the_download_was_kept(cache, precious)
    assert (cache / ('epoch_1.pth' + URL_SUFFIX)).read_text().startswith(url)
    # The planted folder and its link are left as they are.
    assert os.path.islink(planted[0])


@pytest.mark.skipif(
    not hasattr(os, 'geteuid') or os.geteuid() != 0,
    reason='another user is played by dropping root to nobody')
def test_another_user_cannot_replace_the_download():
    """Another user (nobody) who can write in the cache folder (0777, not
    sticky) tries to put a link to this user's file in place of the
    download: refused by the system. Swapping the whole folder for one
    of their own, which they can, is not used. Before, the scratch file
    in the cache folder was replaced."""
    # Under /tmp, so that nobody can reach it.
    root = tempfile.mkdtemp(dir='/tmp')
    try:
        os.chmod(root, 0o777)
        cache = os.path.join(root, 'cache')
        os.mkdir(cache)
        os.chmod(cache, 0o777)
        precious = tempfile.mkdtemp(dir='/tmp')
        precious_file = os.path.join(precious, 'precious.txt')
        with open(precious_file, 'w') as f:
            f.write(PRECIOUS)
        tries = {}

        def as_nobody(script, *args):
            return subprocess.run(['sh', '-c', script, 'sh', *args],
                                  user=NOBODY,
                                  capture_output=True,
                                  text=True)

        def attack():
            entry, inner = _scratch(cache)
            tries['replace'] = as_nobody('ln -sf "$2" "$1"', inner,
                                         precious_file)
            if entry != inner:
                tries['swap'] = as_nobody(
                    'mv "$1" "$1.moved" && mkdir "$1" && ln -s "$3" "$2"',
                    entry, inner, precious_file)

        with serving(root, _handler(attack)) as server:
            fetch_cached(f'{server.url}/epoch_1.pth', cache)
        assert tries['replace'].returncode != 0
        assert 'Permission denied' in tries['replace'].stderr
        assert tries['swap'].returncode == 0, tries['swap'].stderr
        cached = os.path.join(cache, 'epoch_1.pth')
        assert stat.S_ISREG(os.lstat(cached).st_mode)
        assert torch.equal(
            torch.load(cached)['state_dict']['w'], torch.arange(3.))
        with open(precious_file) as f:
            assert f.read() == PRECIOUS
    finally:
        shutil.rmtree(root)
        shutil.rmtree(precious, ignore_errors=True)


def test_ctrl_c_during_a_download_leaves_nothing(tmp_path, monkeypatch):
    """Guards kept behaviour: a download stopped with Ctrl-C leaves no
    scratch file, and now no scratch folder, in the cache."""
    cache = tmp_path / 'cache'
    cache.mkdir()

    def interrupted(url, file, progress):
        file.write(b'part of it')
        raise KeyboardInterrupt

    monkeypatch.setattr(download_new, 'fetch_to_file', interrupted)
    with pytest.raises(KeyboardInterrupt):
        fetch_cached('http://127.0.0.1:9/epoch_1.pth', str(cache))
    assert os.listdir(cache) == []


def test_a_scratch_folder_replaced_while_it_is_made_is_not_used(
        tmp_path, monkeypatch):
    """Between ``mkdtemp`` and its opening, the new folder's name is given
    to a link to another folder (someone who can write in the cache): the
    download stops with an error naming the scratch folder, and writes
    nothing into the other folder."""
    from mmadaptformer.utils import download_scratch
    cache = tmp_path / 'cache'
    cache.mkdir()
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    made = []
    mkdtemp = tempfile.mkdtemp

    def swapped(**kwargs):
        private = mkdtemp(**kwargs)
        os.rename(private, tmp_path / 'moved')
        os.symlink(elsewhere, private)
        made.append(private)
        return private

    monkeypatch.setattr(download_scratch.tempfile, 'mkdtemp', swapped)
    with pytest.raises(CheckpointLoadError) as error:
        fetch_cached('http://127.0.0.1:9/epoch_1.pth', str(cache))
    assert str(error.value).startswith(
        f'The scratch folder {made[0]} the download of '
        f'{cache / "epoch_1.pth"} was to be written in was replaced while '
        'it was made, and is not used')
    assert os.listdir(elsewhere) == []


def test_an_os_error_names_the_scratch_folder_by_its_name(tmp_path):
    """An OSError raised by a file operation in the scratch folder (the
    download's own ``open``, ``os.replace``, a record's ``open(..., 'x')``)
    named the folder as ``/proc/self/fd/N/...``, a path that means nothing
    once the process ended; it names it by its name in the cache, and
    stays the same error."""
    cached = str(tmp_path / 'cache' / 'epoch_1.pth')
    with pytest.raises(FileExistsError) as info:
        with scratch_folder(cached) as private:
            open(os.path.join(private, 'record'), 'x').close()
            open(os.path.join(private, 'record'), 'x').close()
    text = str(info.value)
    assert '/proc/self/fd' not in text, text
    assert info.value.filename.startswith(cached + '.'), text
    assert info.value.filename.endswith('.partial/record'), text
