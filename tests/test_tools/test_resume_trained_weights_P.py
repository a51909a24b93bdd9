# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py --resume`` of an AdaptFormer model's weights saved
without training state says how to train from them, and the command it
gives works.

A whole trained model's weights (a merged checkpoint without its
``meta``) and an adapter-only file that lost its ``meta`` were both
called "the weights of a model", with the advice ``--cfg-options
load_from=FILE (the whole model), or ... --pretrained FILE (its backbone
alone)``; ``--pretrained`` refuses a file that holds adapters, and for
the adapter-only file neither command loads it. Real runs of the tiny
AdaptFormer video config.
"""
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool, video_data_cfg,
                     write_config)
from refusal_lines import refused_line

from mmadaptformer.utils import safe_torch_load

NO_STATE = ('cannot be resumed: it is not a checkpoint that training saved '
            "(it has no 'meta', the epoch and iteration a run reached and "
            '--resume continues from). It is ')
ADAPTER = 'backbone.blocks.0.adaptmlp.down_proj.weight'


@pytest.fixture(scope='module')
def run(tmp_path_factory, tiny_video_data, stock_video_backbone):
    """An AdaptFormer run on the stock backbone (adapter-only
    checkpoints), and files of its weights without training state: the
    whole model (merged, its 'meta' dropped) and the adapter-only
    checkpoint's tensors alone."""
    root = tmp_path_factory.mktemp('resume_trained_weights')
    config = write_config(root / 'adapter.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    work = root / 'adapter'
    run_tool([
        'train.py', config, '--work-dir', work, '--seed', '0', '--pretrained',
        stock_video_backbone
    ],
             cwd=root)
    epoch = work / 'epoch_2.pth'
    merged = root / 'merged.pth'
    run_tool([
        'model_converters/merge_adapters.py', config, epoch, merged,
        '--pretrained', stock_video_backbone
    ],
             cwd=root)
    whole = root / 'whole.pth'
    torch.save(
        dict(state_dict=safe_torch_load(str(merged))['state_dict']), whole)
    bare = root / 'adapters.pth'
    torch.save(
        dict(state_dict=safe_torch_load(str(epoch))['state_dict']), bare)
    return dict(
        root=root,
        config=config,
        epoch=epoch,
        whole=whole,
        bare=bare,
        backbone=stock_video_backbone)


def _resume_refused(run, path, work):
    proc = run_tool([
        'train.py', run['config'], '--work-dir', work, '--resume', path,
        '--pretrained', run['backbone']
    ],
                    cwd=run['root'],
                    check=False)
    return refused_line(proc, absent=['resumed epoch'])


def _trains(run, args, work):
    proc = run_tool(
        ['train.py', run['config'], '--work-dir', work] + args,
        cwd=run['root'],
        check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (work / 'epoch_2.pth').is_file()


def test_a_whole_trained_model_is_given_load_from_alone(run, tmp_path):
    whole = run['whole']
    tensors = sum(
        isinstance(v, torch.Tensor)
        for v in safe_torch_load(str(whole))['state_dict'].values())
    line = _resume_refused(run, whole, tmp_path / 'r')
    assert line == (
        f'ResumeStateError: {whole} {NO_STATE}a trained model\'s weights '
        f'({tensors} tensors of its backbone, cls_head, its adapters among '
        f'them, e.g. {ADAPTER}). To train from them, load them: '
        f'tools/train.py CONFIG --cfg-options load_from={whole} (the whole '
        'model; --pretrained takes a backbone without adapters), without '
        '--resume.'), line
    # Followed, it trains; what it advised before is refused.
    _trains(run, ['--cfg-options', f'load_from={whole}'], tmp_path / 'w')
    proc = run_tool([
        'train.py', run['config'], '--work-dir', tmp_path / 'p',
        '--pretrained', whole
    ],
                    cwd=run['root'],
                    check=False)
    assert refused_line(proc).startswith(
        f'PretrainedFileError: {whole} holds 8 tensors of trained adapters')


def test_adapters_without_their_record_name_the_checkpoint_to_load(
        run, tmp_path):
    bare = run['bare']
    line = _resume_refused(run, bare, tmp_path / 'r')
    assert line.startswith(
        f'ResumeStateError: {bare} {NO_STATE}a file of adapter tensors '
        'without the rest of the model (15 tensors of its backbone, '
        f'cls_head: 8 of adapters, e.g. {ADAPTER}, and none of '), line
    assert line.endswith(
        'and without the record by which an adapter-only checkpoint loads '
        "on its frozen backbone (a 'meta' with 'adapter_checkpoint'), so "
        'nothing loads it as it is. To train from them, load the '
        'checkpoint that training wrote them in (it keeps the record): '
        'tools/train.py CONFIG --pretrained BACKBONE --cfg-options '
        'load_from=EPOCH_N.pth, without --resume.'), line
    assert f'--pretrained {bare}' not in line
    # Followed with the run's checkpoint, it trains.
    _trains(run, [
        '--pretrained', run['backbone'], '--cfg-options',
        f'load_from={run["epoch"]}'
    ], tmp_path / 'w')
