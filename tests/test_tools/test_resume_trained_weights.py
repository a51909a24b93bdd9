# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py --resume`` of an AdaptFormer model's weights saved
without training state says how to train from them, and the command it
gives works.

A whole trained model's weights (a merged checkpoint without its
``meta``) and an adapter-only file that lost its ``meta`` were both
called "the weights of a model", with the advice ``--cfg-options
load_from=FILE (the whole model), or ... --pretrained FILE (its backbone
alone)``; ``--pretrained`` refuses a file that holds adapters, and for
the adapter-only file neither command loads it. The command that loads
an ``epoch_N.pth`` named no work dir, so run in the work dir that holds
it, it wrote over it. Real runs of the tiny AdaptFormer video config.
"""
import shutil

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
    # Resumed in a copy of the work dir that holds the checkpoint to load.
    work = tmp_path / 'adapter'
    shutil.copytree(run['epoch'].parent, work)
    line = _resume_refused(run, bare, work)
    assert line.startswith(
        f'ResumeStateError: {bare} {NO_STATE}a file of adapter tensors '
        'without the rest of the model (15 tensors of its backbone, '
        f'cls_head: 8 of adapters, e.g. {ADAPTER}, and none of '), line
    assert line.endswith(
        'and without the record by which an adapter-only checkpoint loads '
        "on its frozen backbone (a 'meta' with 'adapter_checkpoint'), so "
        'nothing loads it as it is. To train from them, load the '
        'checkpoint that training wrote them in (it keeps the record): '
        f'tools/train.py CONFIG --work-dir {work}_from_adapters --pretrained '
        'BACKBONE --cfg-options load_from=EPOCH_N.pth, without --resume.'
    ), line
    assert f'--pretrained {bare}' not in line
    # Followed with that work dir's checkpoint, after the resume's own
    # --work-dir as a user keeps it, it trains in its own work dir: in the
    # one it loads from, its epoch_2.pth would replace the file it loads.
    epoch = work / 'epoch_2.pth'
    loaded = epoch.read_bytes()
    advice = line[line.index('tools/train.py CONFIG ') +
                  len('tools/train.py CONFIG '):-len(', without --resume.')]
    args = advice.replace('BACKBONE', str(run['backbone'])).replace(
        'EPOCH_N.pth', str(epoch)).split()
    _trains(run, args, work)
    assert (tmp_path / 'adapter_from_adapters' / 'epoch_2.pth').is_file()
    assert epoch.read_bytes() == loaded


#: The tiny AdaptFormer config's adapters on one block, saving full
#: checkpoints (adapters, frozen backbone and head) with training state.
ONE_BLOCK = ("custom_hooks = [dict(type='AdapterHook', "
             "extra_trainable=[r'^backbone\\.fc_norm\\.'], "
             'adapter_only_checkpoint=False)]\n'
             'model = dict(backbone=dict(layers=[{}]))\n')


def test_a_run_with_adapters_on_other_blocks_is_resumed_by_its_config(
        run, tiny_video_data, tmp_path):
    """A full checkpoint whose adapters are on block 0, resumed with the
    config of adapters on block 1: it was told to give it as --pretrained
    (the frozen backbone) or load_from, which both refuse a file with
    adapters this model lacks, and was called "a checkpoint of a model
    without these adapters (a stock or fully fine-tuned model...)"."""
    data = video_data_cfg(tiny_video_data)
    block0, block1 = (
        write_config(tmp_path / f'block{i}.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                     data + ONE_BLOCK.format(i)) for i in (0, 1))
    pretrained = ['--pretrained', run['backbone']]
    work = tmp_path / 'block0'
    run_tool(
        ['train.py', block0, '--work-dir', work, '--seed', '0'] + pretrained,
        cwd=tmp_path)
    epoch_1 = work / 'epoch_1.pth'
    proc = run_tool(
        [
            'train.py', block1, '--work-dir', tmp_path / 'r', '--resume',
            epoch_1
        ] + pretrained,
        cwd=tmp_path,
        check=False)
    line = refused_line(proc, absent=['resumed epoch'])
    assert line == (
        f'ResumeStateError: {epoch_1} cannot be resumed with this config: it '
        "holds none of the model's 4 adapter tensors (e.g. "
        'backbone.blocks.1.adaptmlp.down_proj.weight) but 4 adapter tensors '
        'this model lacks (e.g. backbone.blocks.0.adaptmlp.down_proj.weight)'
        ': it is a checkpoint of a model with other adapters (e.g. on other '
        'blocks), saved after epoch 1 (iteration 2). Resume it with the '
        'config that trained it, or resume from a checkpoint that this '
        "config's training wrote, or use another --work-dir."), line
    # Followed: the config that trained it resumes it and runs on.
    again = tmp_path / 'again'
    proc = run_tool(
        ['train.py', block0, '--work-dir', again, '--resume', epoch_1] +
        pretrained,
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'resumed epoch' in proc.stdout
    assert (again / 'epoch_2.pth').is_file()
