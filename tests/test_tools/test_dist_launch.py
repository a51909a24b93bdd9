# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/dist_train.sh`` / ``dist_test.sh`` as users run them on a
cluster, on one machine: two "nodes" (``NNODES=2``, ``NODE_RANK`` 0 and 1,
one process each) on the loopback address, and a two-process job killed
while it evaluates. Real processes, real kills."""
import os
import signal
import subprocess
import time

from helpers import (TINY_IMAGE_CONFIG, TOOLS, image_data_cfg, run_ranks,
                     write_config)
from tool_runners import free_port

from mmadaptformer.utils import safe_torch_load

# Imported by the processes through the config's custom_imports.
EVAL_STALL_PROBE = '''
import os
import time

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class EvalStallProbeHook(Hook):
    """Rank 1 stalls after its last val/test iteration (until killed) when
    MMADAPTFORMER_TEST_STALL_EVAL is set, so that rank 0 waits inside
    MMEngine's result collection."""

    def _stall(self, runner, loop, batch_idx):
        if (not os.environ.get('MMADAPTFORMER_TEST_STALL_EVAL')
                or runner.rank != 1
                or batch_idx + 1 != len(loop.dataloader)):
            return
        while True:
            time.sleep(0.05)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        self._stall(runner, runner.val_loop, batch_idx)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        self._stall(runner, runner.test_loop, batch_idx)
'''


def _config(tmp_path, data):
    (tmp_path / 'eval_stall_probe.py').write_text(EVAL_STALL_PROBE)
    body = image_data_cfg(data) + (
        "custom_imports = dict(imports=['mmadaptformer', 'eval_stall_probe']"
        ', allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='EvalStallProbeHook')]\n"
        'train_cfg = dict(max_epochs=1)\n')
    return write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, body)


def _env(tmp_path, **extra):
    env = dict(os.environ, OMP_NUM_THREADS='1', MASTER_ADDR='127.0.0.1')
    env['PYTHONPATH'] = os.pathsep.join(
        [str(tmp_path)] + [p for p in [env.get('PYTHONPATH')] if p])
    env.update(extra)
    return env


def _two_nodes(tmp_path, cfg, work, port, extra=()):
    """Start node 0 and node 1 of one job; wait for both."""
    procs = []
    for node in (0, 1):
        log = open(tmp_path / f'node{node}.out', 'w')
        procs.append(
            subprocess.Popen(
                [
                    'bash',
                    str(TOOLS + '/dist_train.sh'),
                    str(cfg), '1', '--work-dir',
                    str(work), '--seed', '0'
                ] + list(extra),
                cwd=tmp_path,
                env=_env(
                    tmp_path, NNODES='2', NODE_RANK=str(node), PORT=str(port)),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True))
    try:
        codes = [p.wait(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    outs = [(tmp_path / f'node{n}.out').read_text() for n in (0, 1)]
    assert codes == [0, 0], '\n\n'.join(o[-3000:] for o in outs)
    return outs


def test_two_nodes_on_loopback_train_checkpoint_and_resume(
        tmp_path, tiny_image_data, served_torchrun):
    cfg = _config(tmp_path, tiny_image_data)
    work = tmp_path / 'work'
    node0, node1 = _two_nodes(tmp_path, cfg, work, port=free_port())
    # One job of two ranks, one per node, not two jobs of one.
    assert 'Distributed training: True' in node0
    assert 'GPU number: 2' in node0, node0[-3000:]
    ckpt = safe_torch_load(str(work / 'epoch_1.pth'))
    assert ckpt['meta']['epoch'] == 1
    assert (work / 'last_checkpoint').read_text().endswith('epoch_1.pth')

    node0, node1 = _two_nodes(
        tmp_path,
        cfg,
        work,
        port=free_port(),
        extra=['--resume', 'auto', '--cfg-options', 'train_cfg.max_epochs=2'])
    logs = sorted(work.glob('*/*.log'))
    resumed = logs[-1].read_text()
    assert 'resumed epoch: 1, iter: 1' in resumed, resumed[-3000:]
    assert 'Epoch(train) [2][1/1]' in resumed
    assert safe_torch_load(str(work / 'epoch_2.pth'))['meta']['epoch'] == 2
    # epoch_1.pth is still there, unchanged.
    assert safe_torch_load(str(work / 'epoch_1.pth'))['meta']['epoch'] == 1


def _wait_for(paths, proc, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in paths if p.exists()]
        if found:
            return found
        assert proc.poll() is None, (
            f'exited {proc.returncode} before the kill:\n'
            f'{proc.log_path.read_text()[-3000:]}')
        time.sleep(0.05)
    raise AssertionError(f'none of {paths} appeared')


def _descendants(pid):
    found, stack = [], [pid]
    while stack:
        children = [
            int(c) for c in subprocess.run(
                ['pgrep', '-P', str(stack.pop())],
                stdout=subprocess.PIPE,
                text=True).stdout.split()
        ]
        found += children
        stack += children
    return found


def _gone(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] in 'ZX'
    except FileNotFoundError:
        return True


def _kill_job(proc):
    """SIGKILL the launcher and every process under it (torchrun starts
    each worker in a session of its own), like a scheduler's hard kill."""
    tree = _descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while not all(_gone(p) for p in tree):
        assert time.monotonic() < deadline, 'workers survived SIGKILL'
        time.sleep(0.05)


def _start(cmd, tmp_path, name, port):
    log = tmp_path / f'{name}.out'
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=_env(tmp_path, PORT=str(port), MMADAPTFORMER_TEST_STALL_EVAL='1'),
        stdout=open(log, 'w'),
        stderr=subprocess.STDOUT,
        start_new_session=True)
    proc.log_path = log
    return proc


def test_ddp_killed_while_evaluating_leaves_nothing_in_the_cwd(
        tmp_path, tiny_image_data, served_torchrun_workers):
    cfg = _config(tmp_path, tiny_image_data)
    work = tmp_path / 'work'
    cwd_leftover = tmp_path / '.dist_test'
    in_work_dir = work / '.dist_test' / 'part_0.pkl'
    # Killed during the validation of tools/train.py ...
    proc = _start([
        'bash', TOOLS + '/dist_train.sh', cfg, '2', '--work-dir', work,
        '--seed', '0'
    ], tmp_path, 'train', free_port())
    try:
        # Rank 0 is inside MMEngine's collect_results_cpu, waiting for the
        # stalled rank 1: its part file (or, before the fix, ./.dist_test)
        # is on disk.
        _wait_for([in_work_dir, cwd_leftover], proc)
    finally:
        _kill_job(proc)
    assert not cwd_leftover.exists()
    assert in_work_dir.exists()  # under the work dir, where it may stay
    assert (work / 'epoch_1.pth').exists()

    # ... and during tools/test.py.
    test_work = tmp_path / 'test_work'
    proc = _start([
        'bash', TOOLS + '/dist_test.sh', cfg,
        str(work / 'epoch_1.pth'), '2', '--work-dir', test_work
    ], tmp_path, 'test', free_port())
    try:
        _wait_for([test_work / '.dist_test' / 'part_0.pkl', cwd_leftover],
                  proc)
    finally:
        _kill_job(proc)
    assert not cwd_leftover.exists()
    assert (test_work / '.dist_test' / 'part_0.pkl').exists()


def test_two_process_evaluation_cleans_up_after_itself(tmp_path,
                                                       tiny_image_data):
    # Not killed: MMEngine removes its collect folder, in the work dir too.
    # (Two ranks as torchrun starts them; the launcher is tested above.)
    cfg = _config(tmp_path, tiny_image_data)
    work = tmp_path / 'work'
    run_ranks(['train.py', cfg, '--work-dir', work, '--seed', '0'],
              2,
              cwd=tmp_path,
              port=free_port(),
              env=dict(PYTHONPATH=_env(tmp_path)['PYTHONPATH']))
    assert not (tmp_path / '.dist_test').exists()
    assert not (work / '.dist_test').exists()
    assert 'accuracy/top1' in next(work.glob('*/*.log')).read_text()
