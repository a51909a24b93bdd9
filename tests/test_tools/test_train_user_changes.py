# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What users change when they adapt a recipe to their data, run through
``tools/train.py`` on the tiny video configs: a ``custom_hooks`` list of
their own (which replaces the recipe's AdapterHook), ``val_interval=0``,
and ``--resume`` of another run's checkpoint into a new ``--work-dir``."""
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     pretrained_cfg, run_tool, video_data_cfg, write_config)
from refusal_lines import refused_line

from mmadaptformer.utils import safe_torch_load


def test_adaptformer_without_adapter_hook_is_refused(tmp_path,
                                                     stock_video_backbone,
                                                     tiny_video_data):
    # A config's custom_hooks replaces the recipe's list, AdapterHook and
    # all; the backbone then trained and checkpoints held the whole model.
    config = write_config(
        tmp_path / 'own_hooks.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        pretrained_cfg(stock_video_backbone) +
        "custom_hooks = [dict(type='EmptyCacheHook')]\n")
    work = tmp_path / 'work'
    proc = run_tool(['train.py', config, '--work-dir', work],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc)
    assert 'model.backbone is AdaptFormer' in line, line
    assert 'no AdapterHook is in custom_hooks' in line, line
    assert "dict(type='AdapterHook'" in line, line
    assert 'allow_trained_host=True' in line, line
    assert not list(work.glob('*.pth'))


def test_adaptformer_without_adapter_hook_trains_everything_when_allowed(
        tmp_path, stock_video_backbone, tiny_video_data):
    """Guard of the opt-out: ``allow_trained_host=True`` trains the whole
    model and saves it whole."""
    config = write_config(
        tmp_path / 'all.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        pretrained_cfg(stock_video_backbone) +
        'custom_hooks = []\ntrain_cfg = dict(max_epochs=1)\n'
        'param_scheduler = []\n'
        'default_hooks = dict(config_check=dict(allow_trained_host=True))\n')
    work = tmp_path / 'work'
    run_tool(['train.py', config, '--work-dir', work], cwd=tmp_path)
    state = safe_torch_load(str(work / 'epoch_1.pth'))['state_dict']
    stock = safe_torch_load(stock_video_backbone)['state_dict']
    key = 'backbone.blocks.0.attn.qkv.weight'
    assert key in state
    assert not torch.equal(state[key], stock[key])


@pytest.mark.parametrize('where', ['option', 'file'])
def test_val_interval_zero_is_refused_before_training(tmp_path,
                                                      tiny_video_data, where):
    body = video_data_cfg(tiny_video_data)
    options = []
    if where == 'file':
        body += 'train_cfg = dict(val_interval=0)\n'
    else:
        options = ['--cfg-options', 'train_cfg.val_interval=0']
    config = write_config(tmp_path / 'vi.py', TINY_VIDEO_CONFIG, body)
    work = tmp_path / 'work'
    proc = run_tool(
        ['train.py', config, '--work-dir', work] + options,
        cwd=tmp_path,
        check=False)
    line = refused_line(proc)
    assert 'train_cfg.val_interval' in line, line
    assert 'expected a whole number > 0' in line, line
    assert '--no-validate' in line, line
    assert 'Epoch(train)' not in proc.stdout
    assert not work.exists() or not list(work.glob('*.pth'))


def test_resume_into_another_work_dir_keeps_the_other_runs_best(
        tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'tiny.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    first = tmp_path / 'first'
    run_tool(['train.py', config, '--work-dir', first, '--seed', '0'],
             cwd=tmp_path)
    (best, ) = first.glob('best_*.pth')
    # The epoch-1 checkpoint as it is when the best checkpoint is older and
    # any score beats it, so that the resumed run saves a new best.
    checkpoint = torch.load(
        first / 'epoch_1.pth', map_location='cpu', weights_only=False)
    checkpoint['message_hub']['runtime_info'].update(
        best_ckpt=str(best), best_score=-1.0)
    torch.save(checkpoint, first / 'epoch_1.pth')

    second = tmp_path / 'second'
    proc = run_tool([
        'train.py', config, '--work-dir', second, '--resume',
        first / 'epoch_1.pth'
    ],
                    cwd=tmp_path)
    assert 'resumed epoch: 1' in proc.stdout
    # MMEngine's CheckpointHook removed the resumed run's best file.
    assert best.is_file(), proc.stdout[-3000:]
    assert len(list(second.glob('best_*.pth'))) == 1


def test_zero_epochs_are_named_as_such_not_as_a_scheduler(
        tmp_path, tiny_video_data):
    """``train_cfg.max_epochs=0`` was refused by the schedulers' check
    (``param_scheduler[0] ... has begin=0 and no end``), which sent the user
    to fix a scheduler for a run of no epochs."""
    config = write_config(tmp_path / 'me.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    work = tmp_path / 'work'
    proc = run_tool([
        'train.py', config, '--work-dir', work, '--cfg-options',
        'train_cfg.max_epochs=0'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc)
    assert 'train_cfg.max_epochs' in line, line
    assert 'expected a whole number > 0' in line, line
    assert 'param_scheduler' not in line, line
    assert not work.exists() or not list(work.glob('*.pth'))
