# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What ``benchmark_train.py`` says when a config has no batch size or no
optimizer to give (a model-only config, without a dataset or schedule),
or when ``--out`` and ``--plot`` name one file.

Before, a config without ``train_dataloader`` was refused as one that
"trains in batches of 1 (train_dataloader.batch_size)", a key it does not
have; given ``--batch-size``, one without ``optim_wrapper`` failed in the
first mode's worker with a traceback ending in ``AttributeError:
'ConfigDict' object has no attribute 'optim_wrapper'``.
"""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.benchmark import BATCH_SIZE_REASON


@pytest.fixture
def model_only_config(tmp_path):
    """The tiny AdaptFormer video config's model and scope, no data, no
    schedule."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    path = tmp_path / 'model_only.py'
    path.write_text(f"default_scope = 'mmaction'\n"
                    f'model = {cfg.model.to_dict()!r}\n')
    return str(path)


def _refusal(config, tmp_path, *argv):
    proc = run_tool([
        'analysis_tools/benchmark_train.py', config, '--out',
        tmp_path / 'out.json', *argv
    ],
                    tmp_path,
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 2
    assert not osp.exists(tmp_path / 'out.json')
    assert 'Traceback' not in proc.stderr
    return proc.stderr.strip().splitlines()[-1]


def test_config_without_dataset_is_told_to_give_batch_size(
        model_only_config, tmp_path):
    assert _refusal(model_only_config, tmp_path) == (
        f'benchmark_train.py: error: {model_only_config} has no '
        'train_dataloader.batch_size to take the batch size from; give '
        f'--batch-size 2 or more: {BATCH_SIZE_REASON}')


def test_config_without_optim_wrapper_is_refused_on_one_line(
        model_only_config, tmp_path):
    assert _refusal(model_only_config, tmp_path, '--batch-size', '2') == (
        f'benchmark_train.py: error: {model_only_config} has no '
        'optim_wrapper dict (optim_wrapper = None): each mode trains with '
        "the config's optimizer; add one, e.g. optim_wrapper = dict("
        "optimizer=dict(type='SGD', lr=0.01, momentum=0.9)), or inherit a "
        'schedule of configs/_base_/schedules/')


def test_model_and_optimizer_config_runs_with_batch_size(
        model_only_config, tmp_path):
    """Kept behaviour: with an optimizer and --batch-size, a config without
    a dataset is measured, its input shape taken from the backbone. New:
    the JSON records where the batch size came from."""
    with open(model_only_config, 'a') as f:
        f.write("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))\n")
    out = tmp_path / 'out.json'
    run_tool([
        'analysis_tools/benchmark_train.py', model_only_config, '--batch-size',
        '2', '--iters', '1', '--warmup', '0', '--modes', 'adaptformer',
        'full_ft', '--threads', '1', '--out', out
    ], tmp_path)
    with open(out) as f:
        result = json.load(f)
    assert result['settings']['batch_size'] == 2
    assert result['settings']['shape_sources'] == dict(
        size='backbone img_size',
        frames='backbone num_frames',
        batch_size='--batch-size')


def test_out_and_plot_of_one_file_are_refused(tmp_path):
    """The plot replaced the JSON, and the tool said it wrote both."""
    same = tmp_path / 'results.json'
    proc = run_tool([
        'analysis_tools/benchmark_train.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        '--out', same, '--plot', same
    ],
                    tmp_path,
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f'benchmark_train.py: error: --out and --plot name the same file, '
        f'{same}: give the JSON and the PNG a file each')
    assert not same.exists()
