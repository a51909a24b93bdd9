# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The deprecation and future warnings the GPU check's AMP training checks
record: in their own process, and in a tool's output (the checks' own
records are asserted in test_gpu_check.py)."""
import subprocess
import sys
import warnings

import pytest
import torch

from mmadaptformer.benchmark.gpu_check import format_gpu_summary
from mmadaptformer.benchmark.gpu_check.deprecations import (
    DEPRECATION_ENV, amp_deprecations, deprecations_in_log,
    record_deprecations)

#: A module (not ``__main__``, where Python shows DeprecationWarning by
#: default) calling what MMEngine's AmpOptimWrapper calls on CUDA.
OLD_AMP = '''import torch


def step():
    torch.cuda.amp.GradScaler()
    for _ in range(3):  # every step; shown once per place
        torch.get_autocast_gpu_dtype()
'''


def _run(tmp_path, env):
    (tmp_path / 'old_amp.py').write_text(OLD_AMP)
    return subprocess.run(
        [sys.executable, '-c', 'import old_amp; old_amp.step()'],
        cwd=tmp_path,
        env=dict(PATH='/usr/bin:/bin', **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=True).stdout


def test_a_tool_log_shows_both_deprecations_with_the_env(tmp_path):
    found = deprecations_in_log(_run(tmp_path, DEPRECATION_ENV))
    assert [line.split(':')[0]
            for line in found] == ['FutureWarning',
                                   'DeprecationWarning'], found
    assert 'torch.amp.GradScaler' in found[0]
    assert 'get_autocast_gpu_dtype' in found[1]
    assert found[1].endswith('old_amp.py:7)')
    assert amp_deprecations(found) == found
    # Without it Python hides the DeprecationWarning.
    hidden = deprecations_in_log(_run(tmp_path, {}))
    assert [line.split(':')[0] for line in hidden] == ['FutureWarning']


def test_in_process_records_once_and_passes_others_on():
    with pytest.warns(UserWarning, match='not a deprecation'):
        with record_deprecations() as seen:
            for _ in range(2):
                torch.get_autocast_gpu_dtype()
            warnings.warn('not a deprecation', UserWarning)
            warnings.warn('mmcv.utils.foo is deprecated', DeprecationWarning)
    assert len(seen) == 2, seen
    assert seen[0].startswith('DeprecationWarning: torch.get_autocast_gpu_'
                              'dtype() is deprecated')
    # Only the one about the AMP path counts against the check.
    assert amp_deprecations(seen) == seen[:1]


def test_summary_shows_them_per_check():
    data = dict(
        status='complete',
        device='cuda',
        gpu='H200',
        torch=torch.__version__,
        date='today',
        checks=dict(
            amp_step_video=dict(
                status='failed',
                details=dict(deprecation_warnings=['FutureWarning: a'])),
            train_video=dict(
                status='passed',
                details=dict(
                    deprecation_warnings=dict(float16=[], bfloat16=[])))))
    lines = format_gpu_summary(data).splitlines()
    i = lines.index('    deprecation / future warnings: 1')
    assert lines[i + 1] == '      FutureWarning: a'
    assert '    deprecation / future warnings: 0' in lines
