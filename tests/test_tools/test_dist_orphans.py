# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/dist_train.sh`` workers end when torchrun is SIGKILLed.

torchrun starts each worker in a session of its own and cannot pass a
SIGKILL on: after ``kill -9`` of torchrun (the out-of-memory killer, a
scheduler's hard stop, a user ending a run to ``--resume`` it) the workers
went on training as orphans, writing checkpoints into the work dir the
``--resume`` run started next uses too (seen: killed at epoch 3, they wrote
``epoch_12.pth``). The real torchrun starts real workers here: a served
worker's parent is the tool server, not torchrun."""
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import TINY_IMAGE_CONFIG, TOOLS, image_data_cfg, write_config
from tool_runners import free_port


def _children(pid):
    return [
        int(c) for c in subprocess.run(['pgrep', '-P', str(pid)],
                                       stdout=subprocess.PIPE,
                                       text=True).stdout.split()
    ]


def _alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in 'ZX'
    except FileNotFoundError:
        return False


@pytest.mark.skipif(
    not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux')
def test_workers_end_with_a_sigkilled_torchrun(tmp_path, tiny_image_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + 'train_cfg = dict(max_epochs=500)\n')
    work = tmp_path / 'work'
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(free_port()))
    log = open(tmp_path / 'job.out', 'w')
    job = subprocess.Popen(
        ['bash', TOOLS + '/dist_train.sh', config, '2', '--work-dir', work],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True)
    workers = []
    try:
        deadline = time.monotonic() + 240
        while not (work / 'epoch_1.pth').exists():
            assert job.poll() is None, (tmp_path / 'job.out').read_text()
            assert time.monotonic() < deadline, 'no epoch_1.pth'
            time.sleep(0.1)
        torchrun, = _children(job.pid)
        workers = _children(torchrun)
        assert len(workers) == 2
        os.kill(torchrun, signal.SIGKILL)
        job.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, workers)), 'orphaned workers go on'
    finally:
        for pid in workers + [job.pid]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        job.wait()
