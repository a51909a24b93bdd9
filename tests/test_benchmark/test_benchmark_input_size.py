# Copyright (c) mmadaptformer contributors. All rights reserved.
"""benchmark_train.py refuses inputs its backbone cannot take before any
mode runs, and warns once when ``--threads`` oversubscribes the cores.

Before, ``benchmark_train.py CONFIG --img-size 8`` on 16-pixel patches
(``--num-frames 1`` on 2-frame tubelets) ended, exit status 1, with the
worker's traceback and ``the adaptformer row failed: its worker process
exited 1: RuntimeError: Calculated padded input size per channel: (4 x 8
x 8). Kernel size: (2 x 16 x 16). Kernel size can't be greater than actual
input size``; ``--threads`` above the usable cores said nothing.
"""
import os

import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG, run_tool
from refusal_lines import usage_line

from mmadaptformer import benchmark as tool


@pytest.mark.parametrize('config, flags, said', [
    (TINY_ADAPTFORMER_VIDEO_CONFIG, ['--img-size', '8'],
     'input size 8x8 (from --img-size) is smaller than the patch size 16 '
     '(model.backbone.backbone.patch_size of the config): give an '
     '--img-size of at least the patch size'),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, ['--img-size', '32', '8'],
     'input size 32x8 (from --img-size) is smaller than the patch size 16'),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, ['--num-frames', '1'],
     'clips of 1 frame(s) (from --num-frames) are fewer than the tubelet '
     'size 2 (model.backbone.backbone.tubelet_size of the config): give a '
     '--num-frames of at least the tubelet size'),
    (TINY_IMAGE_CONFIG, ['--img-size', '8'],
     'input size 8x8 (from --img-size) is smaller than the patch size 16 '
     '(model.backbone.patch_size of the config)'),
])
def test_input_below_patch_or_tubelet_is_refused_up_front(
        config, flags, said, tmp_path):
    proc = run_tool([
        'analysis_tools/benchmark_train.py', config, *flags, '--modes',
        'linear_probe', '--iters', '1', '--warmup', '0'
    ],
                    cwd=tmp_path,
                    check=False)
    line = usage_line(proc, absent=['Kernel size', '[round'])
    assert line.startswith(f'benchmark_train.py: error: {config}: {said}'), \
        line


def test_patch_size_from_the_hosts_default():
    """A backbone config without ``patch_size`` is named by its class's
    default."""
    args = tool.parse_args([TINY_ADAPTFORMER_VIDEO_CONFIG, '--img-size', '8'])
    cfg = tool.load_config(args)
    del cfg.model.backbone.backbone['patch_size']
    problem = tool.input_size_problem(cfg, tool.input_spec(cfg, args))
    assert problem.startswith(
        'input size 8x8 (from --img-size) is smaller than the patch size 16 '
        '(the default of VisionTransformer (model.backbone.backbone has no '
        'patch_size))'), problem
    # The config's own input fits: nothing to say.
    args = tool.parse_args([TINY_ADAPTFORMER_VIDEO_CONFIG])
    assert tool.input_size_problem(cfg, tool.input_spec(cfg, args)) is None


def test_threads_above_the_usable_cores_warn(monkeypatch):
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0, 1})
    assert tool.threads_problem(2) is None
    assert tool.threads_problem(3) == (
        '--threads 3 is more than the 2 CPU core(s) this process may use '
        '(os.sched_getaffinity): timings will be oversubscribed (threads '
        'take turns on the cores); give --threads 2 or fewer')


def test_threads_warning_is_one_line_of_a_real_run(tmp_path):
    cores = len(os.sched_getaffinity(0))
    proc = run_tool([
        'analysis_tools/benchmark_train.py', TINY_IMAGE_CONFIG, '--modes',
        'linear_probe', '--iters', '1', '--warmup', '0', '--matmul-size', '64',
        '--threads', cores + 1
    ],
                    cwd=tmp_path,
                    timeout=600)
    said = [
        line for line in proc.stdout.splitlines()
        if 'timings will be oversubscribed' in line
    ]
    assert len(said) == 1, proc.stdout
    assert f'WARNING - --threads {cores + 1} is more than the {cores} CPU ' \
        'core(s)' in said[0], said
