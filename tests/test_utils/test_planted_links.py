# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Outputs are never written through a symbolic link that another user
made in a shared folder (sticky and world-writable, as ``/tmp``): the
atomic writer resolved such a link itself and replaced the file it pointed
to, bypassing Linux's ``fs.protected_symlinks`` (and, where that setting is
off, as in this container, ``open`` followed it too).

A link owned by another user can only be made by root (``os.lchown``); the
tests that need one are skipped for other users."""
import json
import os
import os.path as osp

import pytest
import torch

from mmadaptformer.utils.atomic_file import (AtomicFile, AtomicWriteError,
                                             atomic_write)
from mmadaptformer.utils.atomic_save import atomic_torch_save
from mmadaptformer.utils.output_file import output_file_problem
from mmadaptformer.utils.output_folder import output_folder_problem
from mmadaptformer.utils.planted_links import planted_link

OTHER_UID = 65534  # nobody
needs_root = pytest.mark.skipif(
    not hasattr(os, 'geteuid') or os.geteuid() != 0,
    reason='only root can make a link that another user owns')


@pytest.fixture
def shared(tmp_path):
    """A sticky, world-writable folder (as /tmp), a victim's file and
    folder outside it, and a ``plant(name, target)`` that makes a link in
    the shared folder owned by another user."""
    folder = tmp_path / 'shared'
    folder.mkdir()
    folder.chmod(0o1777)
    victim = tmp_path / 'home'
    victim.mkdir()
    precious = victim / 'precious.txt'
    precious.write_text('precious\n')

    def plant(name, target, uid=OTHER_UID):
        link = folder / name
        link.symlink_to(target)
        os.lchown(link, uid, uid)
        return str(link)

    return dict(folder=folder, home=victim, precious=precious, plant=plant)


def _untouched(shared):
    assert shared['precious'].read_text() == 'precious\n'
    assert sorted(os.listdir(shared['home'])) == ['precious.txt']


@needs_root
@pytest.mark.parametrize(
    'write', [
        lambda path: atomic_write('{"x": 1}\n', path),
        lambda path: atomic_write(b'bytes', path),
        lambda path: atomic_torch_save({'w': torch.zeros(1)}, path),
        lambda path: AtomicFile(path, 'w'),
    ],
    ids=['text', 'bytes', 'torch_save', 'AtomicFile'])
def test_a_planted_link_is_not_written_through(shared, write):
    link = shared['plant']('preds.json', shared['precious'])
    with pytest.raises(AtomicWriteError) as info:
        write(link)
    message = str(info.value)
    assert info.value.errno == 13
    assert message.startswith(f'[Errno 13] Could not write {link}: {link} '
                              'is a symbolic link to ')
    assert "that 'nobody' (uid 65534), not you, made in" in message
    assert message.endswith('Nothing was written.')
    _untouched(shared)
    # Nothing was left in the shared folder either, the link included.
    assert os.listdir(shared['folder']) == ['preds.json']


@needs_root
def test_a_link_to_a_link_to_a_planted_folder_link_is_refused(
        shared, tmp_path):
    """The links a path goes through are looked at too: a planted link to
    a folder, and one reached through the user's own link."""
    shared['plant']('dir', shared['home'])
    through_folder = str(shared['folder'] / 'dir' / 'new.json')
    own = tmp_path / 'mine.json'
    own.symlink_to(through_folder)
    for path in (through_folder, str(own)):
        with pytest.raises(AtomicWriteError, match='dir is a symbolic link'):
            atomic_write('x', path)
        assert 'dir is a symbolic link' in planted_link(path)
    _untouched(shared)


@needs_root
def test_a_planted_folder_link_then_dot_dot_is_refused(shared):
    """``LINK/../x``: the kernel follows LINK, then goes to its target's
    parent; the check walked the path with ``..`` dropped as text and let
    it through."""
    shared['plant']('run', shared['home'] / 'sub')
    (shared['home'] / 'sub').mkdir()
    path = str(shared['folder'] / 'run' / '..' / 'new.json')
    assert 'run is a symbolic link' in planted_link(path)
    assert 'run is a symbolic link' in output_file_problem(path, '--out', [])


@needs_root
def test_outputs_through_a_planted_link_are_refused_before_the_run(shared):
    file_link = shared['plant']('out.json', shared['precious'])
    folder_link = shared['plant']('work', shared['home'])
    problem = output_file_problem(file_link, '--out', [])
    assert problem.startswith(f'--out {file_link}: {file_link} is a '
                              'symbolic link to ')
    problem = output_folder_problem(folder_link, 'OUT_DIR')
    assert problem.startswith(f'OUT_DIR {folder_link}: {folder_link} is a '
                              'symbolic link to ')
    problem = output_file_problem(osp.join(folder_link, 'a.json'), 'out', [])
    assert f'{folder_link} is a symbolic link' in problem


@needs_root
def test_links_the_kernel_follows_are_followed(shared, tmp_path):
    """Kept behaviour: a link in a shared folder owned by this user or by
    the folder's owner, and any link in a folder that is not shared, is
    written through as ``open`` writes through it."""
    own = shared['plant']('mine.json', shared['precious'], uid=os.geteuid())
    os.chown(shared['folder'], OTHER_UID, OTHER_UID)
    owners = shared['plant']('owners.json', shared['home'] / 'b.txt')
    plain = tmp_path / 'plain.json'
    plain.symlink_to(shared['home'] / 'c.txt')
    os.lchown(plain, OTHER_UID, OTHER_UID)
    for link in (own, owners, str(plain)):
        assert planted_link(link) is None
        atomic_write(f'{osp.basename(link)}\n', link)
        assert osp.islink(link)
    assert shared['precious'].read_text() == 'mine.json\n'
    assert (shared['home'] / 'b.txt').read_text() == 'owners.json\n'
    assert (shared['home'] / 'c.txt').read_text() == 'plain.json\n'


def test_plain_paths_in_a_shared_folder_are_written(shared):
    """Kept behaviour: a new file, or one of this user's, in a shared
    folder is written as before, and a link of this user's that loops
    ends the walk (no endless loop)."""
    path = shared['folder'] / 'new.json'
    atomic_write(json.dumps([1]), path)
    atomic_write(json.dumps([2]), path)
    assert json.loads(path.read_text()) == [2]
    assert planted_link(str(shared['folder'] / 'missing' / 'x')) is None
    loop = shared['folder'] / 'loop'
    loop.symlink_to(loop)
    assert planted_link(str(loop)) is None


@needs_root
def test_a_drawing_through_a_planted_link_is_refused(shared, tmp_path):
    """``--show-dir /tmp/show`` (and ``show_dir=`` of the Inferencers)
    where another user linked the drawing's name to a file of yours."""
    from mmadaptformer.apis.show_dir import show_dir_paths
    video = tmp_path / 'clips' / 'clip.mp4'
    video.parent.mkdir()
    video.write_bytes(b'')
    shared['plant']('clip.mp4', shared['precious'])
    with pytest.raises(ValueError) as info:
        show_dir_paths(str(shared['folder']), [str(video)], 'video')
    link = shared['folder'] / 'clip.mp4'
    assert str(info.value).startswith(
        f"--show-dir {shared['folder']}: the drawing of {video}: {link} is "
        'a symbolic link to ')
