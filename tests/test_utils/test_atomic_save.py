# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Atomic local checkpoint writes (:mod:`mmadaptformer.utils.atomic_save`,
:class:`~mmadaptformer.engine.AtomicCheckpointHook`): through MMEngine's own
APIs, with a real training process killed by the kernel in the middle of
writing a checkpoint, and with real write failures (file too large,
permission denied)."""
import errno
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest
import torch
from helpers import (TINY_IMAGE_CONFIG, FailsToPickle, image_data_cfg,
                     run_tool, write_config)
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook, checkpoint_hook
from mmengine.runner.checkpoint import find_latest_checkpoint, save_checkpoint

import mmadaptformer  # noqa: F401  (registers the atomic backend)
from mmadaptformer.utils import (atomic_file, atomic_save, atomic_tmp_files,
                                 safe_torch_load)
from mmadaptformer.utils.atomic_file import AtomicFile
from mmadaptformer.utils.atomic_save import (ATOMIC_BACKEND,
                                             AtomicLocalBackend,
                                             atomic_torch_save)

ATOMIC = dict(backend=ATOMIC_BACKEND)


def _tmp_files(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith('.tmp'))


def test_import_registers_a_backend_and_patches_nothing():
    # MMEngine's own local writes and CheckpointHook are untouched; the
    # atomic writer is a backend of its own, selected by name.
    for name in ('put', 'put_text'):
        assert getattr(LocalBackend, name).__module__.startswith('mmengine.')
    assert not hasattr(checkpoint_hook, 'open')
    assert CheckpointHook._save_checkpoint_with_step.__module__ == \
        'mmengine.hooks.checkpoint_hook'
    assert type(get_file_backend('x')) is LocalBackend
    assert type(get_file_backend('x', backend_args=ATOMIC)) is \
        AtomicLocalBackend


def test_save_checkpoint_replaces_whole_file(tmp_path):
    path = str(tmp_path / 'sub' / 'epoch_1.pth')
    save_checkpoint({'w': torch.arange(4.)}, path, backend_args=ATOMIC)
    save_checkpoint({'w': torch.arange(8.)}, path, backend_args=ATOMIC)
    assert torch.equal(safe_torch_load(path)['w'], torch.arange(8.))
    assert _tmp_files(tmp_path / 'sub') == []
    # Created like open() creates files: 0o666 minus the umask.
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_failed_write_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'w': torch.ones(3)}, path, backend_args=ATOMIC)

    def fail(fd):
        raise OSError(errno.EIO, 'disk on fire')

    monkeypatch.setattr(atomic_file, '_fsync', fail)
    with pytest.raises(OSError, match='disk on fire') as info:
        save_checkpoint({'w': torch.zeros(3)}, path, backend_args=ATOMIC)
    # The error names the file being written and the bytes written.
    assert info.value.errno == errno.EIO
    assert f'Could not write {path}: disk on fire after ' in str(info.value)
    assert ' bytes were written' in str(info.value)
    with pytest.raises(OSError, match='disk on fire'):
        get_file_backend(
            path, backend_args=ATOMIC).put_text('epoch_9.pth',
                                                tmp_path / 'last')
    assert torch.equal(safe_torch_load(path)['w'], torch.ones(3))
    assert not (tmp_path / 'last').exists()
    assert _tmp_files(tmp_path) == []


def test_last_checkpoint_write_is_atomic(tmp_path):
    # AtomicCheckpointHook writes last_checkpoint through AtomicFile.
    last = tmp_path / 'last_checkpoint'
    with AtomicFile(str(last), 'w') as f:
        f.write(str(tmp_path / 'epoch_1.pth'))
    with pytest.raises(KeyboardInterrupt):
        with AtomicFile(str(last), 'w') as f:
            f.write(str(tmp_path / 'epoch_2'))
            raise KeyboardInterrupt  # interrupted half-way
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'epoch_1.pth')
    assert _tmp_files(tmp_path) == []
    with open(str(last)) as f:
        assert f.read().endswith('epoch_1.pth')


def test_writes_through_symlinks_like_open(tmp_path):
    target = tmp_path / 'real.pth'
    link = tmp_path / 'link.pth'
    target.write_bytes(b'old')
    link.symlink_to(target)
    AtomicLocalBackend().put(b'new', link)
    assert link.is_symlink() and target.read_bytes() == b'new'


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    host = atomic_tmp_files.host_tag()
    stale = tmp_path / f'.epoch_1.pth.{host}.{dead.pid}.{"a" * 32}.tmp'
    alive = tmp_path / f'.epoch_1.pth.{host}.{os.getpid()}.{"b" * 32}.tmp'
    other_host = tmp_path / f'.epoch_1.pth.elsewhere.{dead.pid}.{"c" * 32}.tmp'
    for path in (stale, alive, other_host):
        path.write_bytes(b'partial')
    AtomicLocalBackend().put(b'complete', target)
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
    (MMADAPTFORMER_TEST_KILL_SAVE=EPOCH:LIMIT), or makes that write fail
    with EFBIG, "File too large", as a full disk or quota would
    (MMADAPTFORMER_TEST_KILL_SAVE=EPOCH:LIMIT:error)."""

    priority = 'LOWEST'  # the last to touch the checkpoint

    def before_save_checkpoint(self, runner, checkpoint):
        spec = os.environ.get('MMADAPTFORMER_TEST_KILL_SAVE')
        if not spec:
            return
        epoch, limit = (int(v) for v in spec.split(':')[:2])
        if checkpoint['meta']['epoch'] != epoch:
            return
        # A checkpoint big enough that the write is cut mid-way.
        checkpoint['padding'] = torch.ones(limit)  # 4 * limit bytes
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        if spec.endswith(':error'):
            # Python ignores SIGXFSZ: the write() that crosses the limit
            # fails with EFBIG.
            return
        # SIGXFSZ's default action kills the process in the write() that
        # crosses the limit, with no clean-up code run.
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
'''

LIMIT = 4 * 2**20


def _train_with_probe(tmp_path, data, checkpoint_hook: str, spec: str):
    """tools/train.py on the tiny image task with ``KillDuringSaveHook``
    (``MMADAPTFORMER_TEST_KILL_SAVE=spec``) and one kept checkpoint
    (``default_hooks.checkpoint = checkpoint_hook``). Returns the run, the
    work dir, and the arguments and environment to run it again without
    the probe."""
    (tmp_path / 'kill_probe.py').write_text(KILL_PROBE)
    body = image_data_cfg(data) + (
        "custom_imports = dict(imports=['mmadaptformer', 'kill_probe'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='KillDuringSaveHook')]\n"
        f'default_hooks = dict(checkpoint={checkpoint_hook})\n')
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
        env=dict(env, MMADAPTFORMER_TEST_KILL_SAVE=spec),
        check=False)
    return proc, work, args, env


def test_kill_while_saving_keeps_previous_checkpoint_resumable(
        tmp_path, tiny_image_data):
    # One kept checkpoint: MMEngine deletes the old one before it writes
    # the new one, unless the package defers the deletion. A user's own
    # config names MMEngine's CheckpointHook: tools/train.py makes it an
    # AtomicCheckpointHook.
    proc, work, args, env = _train_with_probe(
        tmp_path, tiny_image_data,
        "dict(type='CheckpointHook', max_keep_ckpts=1)", f'2:{LIMIT}')
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
    assert 'AtomicCheckpointHook in place of CheckpointHook' in proc.stdout
    assert 'resumed epoch: 1, iter: 2' in proc.stdout
    assert 'Epoch(train) [2][2/2]' in proc.stdout
    ckpt = safe_torch_load(str(work / 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2 and 'padding' not in ckpt
    assert find_latest_checkpoint(str(work)) == str(work / 'epoch_2.pth')
    # max_keep_ckpts=1 still holds, and the killed writer's leftover is
    # gone.
    assert not (work / 'epoch_1.pth').exists()
    assert _tmp_files(work) == []


def test_file_too_large_names_the_file_and_keeps_previous_checkpoint(
        tmp_path, tiny_image_data):
    # A real EFBIG from the kernel (RLIMIT_FSIZE), in a real training run.
    proc, work, args, env = _train_with_probe(tmp_path, tiny_image_data,
                                              'dict(max_keep_ckpts=1)',
                                              f'2:{LIMIT}:error')
    assert proc.returncode == 1, proc.stdout[-4000:]
    match = re.search(
        r'AtomicWriteError: \[Errno 27\] Could not write (\S+): File too '
        r'large '
        r'after (\d+) of (\d+) bytes were written', proc.stdout)
    assert match, proc.stdout[-4000:]
    assert match.group(1) == str(work / 'epoch_2.pth')
    assert int(match.group(2)) == LIMIT
    assert int(match.group(3)) > 4 * LIMIT  # the padded checkpoint
    # Nothing partial is left; the previous checkpoint is the resumable
    # one, and resuming from it works.
    assert _tmp_files(work) == [] and not (work / 'epoch_2.pth').exists()
    assert find_latest_checkpoint(str(work)) == str(work / 'epoch_1.pth')
    proc = run_tool(args + ['--resume', 'auto'], cwd=tmp_path, env=env)
    assert 'resumed epoch: 1, iter: 2' in proc.stdout
    assert safe_torch_load(str(work / 'epoch_2.pth'))['meta']['epoch'] == 2


PERMISSION_PROBE = """
import importlib, os, sys
module = importlib.import_module(sys.argv[1])
os.setgid(65534)
os.setuid(65534)  # nobody: the folder is not writable any more
try:
    module.AtomicLocalBackend().put(b'new weights', sys.argv[2])
except module.AtomicWriteError as e:
    print(e)
"""


@pytest.mark.skipif(
    os.geteuid() != 0, reason='needs root to switch to the nobody user')
def test_permission_denied_names_the_file(tmp_path):
    # Root writes everywhere; a child process that became "nobody" cannot
    # write to a folder of root's with mode 0o755.
    folder = tempfile.mkdtemp()
    try:
        os.chmod(folder, 0o755)
        target = osp.join(folder, 'epoch_1.pth')
        with open(target, 'wb') as f:
            f.write(b'old weights')
        # The module is imported as a package module (its temporary file
        # names come from a sibling); the package's import warnings go to
        # stderr, the refusal the probe prints to stdout.
        proc = subprocess.run([
            sys.executable, '-c', PERMISSION_PROBE, atomic_save.__name__,
            target
        ],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              text=True,
                              timeout=120)
        assert proc.stdout.startswith(
            f'[Errno 13] Could not write {target}: Permission denied while '
            'creating its temporary file'), proc.stdout + proc.stderr
        assert '0 bytes written' in proc.stdout
        with open(target, 'rb') as f:
            assert f.read() == b'old weights'
    finally:
        shutil.rmtree(folder)


def test_torch_save_that_fails_midway_keeps_the_old_file(tmp_path):
    path = tmp_path / 'merged.pth'
    assert atomic_torch_save({'w': torch.ones(3)}, path) == \
        osp.getsize(path)
    before = path.read_bytes()
    # torch.save streams the big tensor's pickle record before it reaches
    # the value that fails; a plain torch.save(obj, path) has by then
    # truncated the old file.
    checkpoint = {'big': torch.zeros(2**18), 'bad': FailsToPickle()}
    with pytest.raises(RuntimeError, match='cannot be pickled'):
        atomic_torch_save(checkpoint, path)
    assert path.read_bytes() == before
    assert _tmp_files(tmp_path) == []
