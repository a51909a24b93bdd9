# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Atomic local checkpoint writes (:mod:`mmadaptformer.utils.atomic_save`):
through MMEngine's own APIs, and with a real training process killed by the
kernel in the middle of writing a checkpoint."""
import errno
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, run_tool, write_config
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.fileio.backends import PetrelBackend
from mmengine.hooks import checkpoint_hook
from mmengine.runner.checkpoint import find_latest_checkpoint, save_checkpoint

import mmadaptformer  # noqa: F401  (registers the atomic writers)
from mmadaptformer.utils import atomic_save, safe_torch_load
from mmadaptformer.utils.atomic_save import (AtomicFile,
                                             atomic_local_writes_registered)


def _tmp_files(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith('.tmp'))


def test_import_makes_local_writes_atomic_and_leaves_remote_alone():
    assert atomic_local_writes_registered()
    assert LocalBackend.put is not None and hasattr(LocalBackend.put,
                                                    '_mmadaptformer_atomic')
    assert not hasattr(PetrelBackend.put, '_mmadaptformer_atomic')
    assert checkpoint_hook.open is atomic_save._checkpoint_hook_open


def test_save_checkpoint_replaces_whole_file(tmp_path):
    path = str(tmp_path / 'sub' / 'epoch_1.pth')
    save_checkpoint({'w': torch.arange(4.)}, path)
    save_checkpoint({'w': torch.arange(8.)}, path)
    assert torch.equal(safe_torch_load(path)['w'], torch.arange(8.))
    assert _tmp_files(tmp_path / 'sub') == []
    # Created like open() creates files: 0o666 minus the umask.
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_failed_write_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'w': torch.ones(3)}, path)

    def fail(fd):
        raise OSError(errno.EIO, 'disk on fire')

    monkeypatch.setattr(atomic_save, '_fsync', fail)
    with pytest.raises(OSError, match='disk on fire'):
        save_checkpoint({'w': torch.zeros(3)}, path)
    with pytest.raises(OSError, match='disk on fire'):
        get_file_backend(path).put_text('epoch_9.pth', tmp_path / 'last')
    assert torch.equal(safe_torch_load(path)['w'], torch.ones(3))
    assert not (tmp_path / 'last').exists()
    assert _tmp_files(tmp_path) == []


def test_last_checkpoint_write_is_atomic(tmp_path):
    # CheckpointHook writes last_checkpoint with a plain open(); in its
    # module that open is now atomic.
    last = tmp_path / 'last_checkpoint'
    with checkpoint_hook.open(str(last), 'w') as f:
        f.write(str(tmp_path / 'epoch_1.pth'))
    with pytest.raises(KeyboardInterrupt):
        with checkpoint_hook.open(str(last), 'w') as f:
            f.write(str(tmp_path / 'epoch_2'))
            raise KeyboardInterrupt  # interrupted half-way
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'epoch_1.pth')
    assert _tmp_files(tmp_path) == []
    with checkpoint_hook.open(str(last)) as f:  # reading is untouched
        assert f.read().endswith('epoch_1.pth')


def test_writes_through_symlinks_like_open(tmp_path):
    target = tmp_path / 'real.pth'
    link = tmp_path / 'link.pth'
    target.write_bytes(b'old')
    link.symlink_to(target)
    LocalBackend().put(b'new', link)
    assert link.is_symlink() and target.read_bytes() == b'new'


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    host = atomic_save._host_tag()
    stale = tmp_path / f'.epoch_1.pth.{host}.{dead.pid}.{"a" * 32}.tmp'
    alive = tmp_path / f'.epoch_1.pth.{host}.{os.getpid()}.{"b" * 32}.tmp'
    other_host = tmp_path / f'.epoch_1.pth.elsewhere.{dead.pid}.{"c" * 32}.tmp'
    for path in (stale, alive, other_host):
        path.write_bytes(b'partial')
    LocalBackend().put(b'complete', target)
    assert target.read_bytes() == b'complete'
    assert not stale.exists()
    assert alive.exists() and other_host.exists()


def test_atomic_file_rejects_appending(tmp_path):
    with pytest.raises(ValueError, match="mode must start with \"w\""):
        AtomicFile(tmp_path / 'log', 'a')


# Imported by the training process through the config's custom_imports.
KILL_PROBE = '''
import os
import resource
import signal

import torch
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    """Makes the kernel kill this process after LIMIT bytes of one file
    while the checkpoint of epoch EPOCH is written
    (MMADAPTFORMER_TEST_KILL_SAVE=EPOCH:LIMIT)."""

    priority = 'LOWEST'  # the last to touch the checkpoint

    def before_save_checkpoint(self, runner, checkpoint):
        spec = os.environ.get('MMADAPTFORMER_TEST_KILL_SAVE')
        if not spec:
            return
        epoch, limit = (int(v) for v in spec.split(':'))
        if checkpoint['meta']['epoch'] != epoch:
            return
        # A checkpoint big enough that the write is cut mid-way.
        checkpoint['padding'] = torch.ones(limit)  # 4 * limit bytes
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        # Python ignores SIGXFSZ; its default action kills the process in
        # the write() that crosses the limit, with no clean-up code run.
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
'''

LIMIT = 4 * 2**20


def test_kill_while_saving_keeps_previous_checkpoint_resumable(
        tmp_path, tiny_image_data):
    (tmp_path / 'kill_probe.py').write_text(KILL_PROBE)
    body = image_data_cfg(tiny_image_data) + (
        "custom_imports = dict(imports=['mmadaptformer', 'kill_probe'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='KillDuringSaveHook')]\n"
        # One kept checkpoint: MMEngine deletes the old one before it
        # writes the new one, unless the package defers the deletion.
        'default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))\n')
    cfg = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, body)
    work = tmp_path / 'work'
    env = dict(
        PYTHONPATH=os.pathsep.join(
            [str(tmp_path)] + [p
                               for p in [os.environ.get('PYTHONPATH')] if p]))
    args = ['train.py', cfg, '--work-dir', work, '--seed', '0']

    proc = run_tool(
        args,
        cwd=tmp_path,
        env=dict(env, MMADAPTFORMER_TEST_KILL_SAVE=f'2:{LIMIT}'),
        check=False)
    assert proc.returncode == -signal.SIGXFSZ, proc.stdout[-4000:]
    # The kill came mid-write: a partial temporary file of exactly LIMIT
    # bytes, no epoch_2.pth at all.
    partial = _tmp_files(work)
    assert len(partial) == 1 and partial[0].startswith('.epoch_2.pth.')
    assert osp.getsize(work / partial[0]) == LIMIT
    assert not (work / 'epoch_2.pth').exists()
    # The previous checkpoint is intact, and last_checkpoint names it.
    last = find_latest_checkpoint(str(work))
    assert last == str(work / 'epoch_1.pth')
    ckpt = safe_torch_load(last)
    assert ckpt['meta']['epoch'] == 1 and 'optimizer' in ckpt

    proc = run_tool(args + ['--resume', 'auto'], cwd=tmp_path, env=env)
    assert 'resumed epoch: 1, iter: 2' in proc.stdout
    assert 'Epoch(train) [2][2/2]' in proc.stdout
    ckpt = safe_torch_load(str(work / 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2 and 'padding' not in ckpt
    assert find_latest_checkpoint(str(work)) == str(work / 'epoch_2.pth')
    # max_keep_ckpts=1 still holds, and the killed writer's leftover is
    # gone.
    assert not (work / 'epoch_1.pth').exists()
    assert _tmp_files(work) == []
