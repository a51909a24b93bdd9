# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``gpu_check.sh`` run stopped while it makes its workspace records
itself as interrupted.

Guard of kept behaviour (22f9188): before it, the run's record was first
written after the workspace and the context were made, so a stop there
left an earlier run's ``gpu_check.json`` (``status: complete``) in the
out dir as if it were this run's. The stop is a real SIGTERM, sent by the
process to itself from inside ``prepare_workspace``, so it lands there
every time (from outside, the moment depends on the machine's load).
"""
import json
import os
import signal

import pytest

from mmadaptformer.benchmark.gpu_check import runner
from mmadaptformer.utils.stop_signals import Stopped, stop_signals_raise

EARLIER = dict(
    status='complete', checks={'train_video': dict(status='passed')})


def test_a_stop_while_the_workspace_is_made_is_recorded(tmp_path, monkeypatch):
    out = tmp_path / 'gpu_check'
    out.mkdir()
    (out / 'gpu_check.json').write_text(json.dumps(EARLIER))
    made = []

    def stopped_inside(root):
        made.append(root)
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError('the SIGTERM did not stop the run')

    monkeypatch.setattr(runner, 'prepare_workspace', stopped_inside)
    with pytest.raises(Stopped), stop_signals_raise():
        runner.run_gpu_check([
            '--device', 'cpu', '--checks', 'train_video', '--out-dir',
            str(out)
        ])
    assert made == [str(out / 'workspace')]
    data = json.loads((out / 'gpu_check.json').read_text())
    assert data['status'] == 'interrupted'
    assert data['reason'].startswith('stopped by SIGTERM after ')
    assert data['checks'] == {}
    assert 'interrupted' in (out / 'summary.txt').read_text()
    assert not (out / 'context.json').exists()
