# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py --resume`` continues a run exactly or refuses with one
line (:class:`~mmadaptformer.engine.hooks.resume_check_hook.
ResumeCheckHook`, the AdapterHook): a checkpoint without optimizer or
scheduler state (``best_*.pth``), an AdaptFormer config resumed from a
stock model's checkpoint, optimizer or scheduler state of another config;
a changed schedule or optimizer setting is kept as the checkpoint has it,
with a warning. Real runs of the tiny video configs."""
import re
import shutil

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     run_tool, video_data_cfg, write_config)
from mmengine.config import Config
from refusal_lines import refused_line

from mmadaptformer.utils import safe_torch_load

SAVE_BEST = "default_hooks = dict(checkpoint=dict(save_best='auto'))\n"


def _refused(proc):
    return refused_line(proc, absent=['resumed epoch'])


def _best(work_dir):
    (best, ) = work_dir.glob('best_*.pth')
    return best


@pytest.fixture(scope='module')
def runs(tmp_path_factory, tiny_video_data):
    """Two finished 2-epoch runs with ``best_*.pth``: the stock tiny ViT
    (``stock``) and AdaptFormer on its ``epoch_2.pth`` (``adapter``,
    adapter-only checkpoints). Each: ``(config, work_dir)``."""
    root = tmp_path_factory.mktemp('resume_refusals')
    data = video_data_cfg(tiny_video_data)
    stock_cfg = write_config(root / 'stock.py', TINY_VIDEO_CONFIG,
                             data + SAVE_BEST)
    adapter_cfg = write_config(root / 'adapter.py',
                               TINY_ADAPTFORMER_VIDEO_CONFIG, data + SAVE_BEST)
    stock, adapter = root / 'stock', root / 'adapter'
    run_tool(['train.py', stock_cfg, '--work-dir', stock, '--seed', '0'],
             cwd=root)
    run_tool([
        'train.py', adapter_cfg, '--work-dir', adapter, '--seed', '0',
        '--pretrained', stock / 'epoch_2.pth'
    ],
             cwd=root)
    return dict(stock=(stock_cfg, stock), adapter=(adapter_cfg, adapter))


def test_resume_from_a_checkpoint_without_optimizer_state_is_refused(
        tmp_path, runs):
    for name in ('stock', 'adapter'):
        cfg, work = runs[name]
        best = _best(work)
        assert set(safe_torch_load(
            str(best))) == {'meta', 'state_dict', 'message_hub'}
        pretrained = ['--pretrained', runs['stock'][1] /
                      'epoch_2.pth'] if name == 'adapter' else []
        line = _refused(
            run_tool(
                [
                    'train.py', cfg, '--work-dir', tmp_path / name, '--resume',
                    best
                ] + pretrained,
                cwd=tmp_path,
                check=False))
        assert line.startswith(
            f'ResumeStateError: {best} cannot be resumed: it holds no '
            "optimizer state ('optimizer') and no param scheduler state "
            "('param_schedulers')"), line
        new_dir = f'{tmp_path / name}_from_{best.stem}'
        assert (f'--work-dir {new_dir} --cfg-options load_from={best}, '
                'without --resume') in line, line
        assert not list((tmp_path / name).glob('epoch_*.pth'))

    # --resume auto never picks a best_*.pth: with nothing else there it
    # refuses to start over on top of it.
    alone = tmp_path / 'alone'
    alone.mkdir()
    shutil.copy(_best(runs['stock'][1]), alone)
    line = _refused(
        run_tool(
            ['train.py', runs['stock'][0], '--work-dir', alone, '--resume'],
            cwd=tmp_path,
            check=False))
    assert line.startswith('NoResumableCheckpointError: --resume auto found '
                           f'no checkpoint to resume from in {alone}, which '
                           f'holds {_best(alone).name}; starting over would '
                           'overwrite it. It is no training checkpoint '
                           '(epoch_N.pth, iter_N.pth).'), line


def test_adapter_only_checkpoint_resumes_exactly(tmp_path, runs):
    cfg, work = runs['adapter']
    ckpt = safe_torch_load(str(work / 'epoch_1.pth'))
    # Adapter-only, with the optimizer state of the trainable tensors.
    assert len(ckpt['optimizer']['state']) == sum(
        len(g['params']) for g in ckpt['optimizer']['param_groups']) == 12
    proc = run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'w', '--resume',
        work / 'epoch_1.pth', '--pretrained', runs['stock'][1] / 'epoch_2.pth'
    ],
                    cwd=tmp_path)
    assert 'resumed epoch: 1, iter: 2' in proc.stdout
    assert 'Resuming from' not in proc.stdout  # unchanged schedule
    resumed = safe_torch_load(str(tmp_path / 'w' / 'epoch_2.pth'))
    original = safe_torch_load(str(work / 'epoch_2.pth'))
    for key, value in original['state_dict'].items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(resumed['state_dict'][key], value), key


def test_adapter_config_resumed_from_a_stock_checkpoint_is_refused(
        tmp_path, runs):
    cfg, _ = runs['adapter']
    stock = runs['stock'][1] / 'epoch_2.pth'
    expected = ('cannot be resumed with this config: it holds none of the '
                "model's 8 adapter tensors (e.g. "
                'backbone.blocks.0.adaptmlp.down_proj.weight)')
    line = _refused(
        run_tool([
            'train.py', cfg, '--work-dir', tmp_path / 'w', '--resume', stock,
            '--pretrained', stock
        ],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith(f'ResumeStateError: {stock} {expected}'), line
    assert f'--pretrained {stock} (the frozen backbone)' in line

    # --resume auto in a work dir holding another run's checkpoint: the same
    # line, not torch's ValueError about the optimizer's param groups.
    other = tmp_path / 'other'
    other.mkdir()
    shutil.copy(stock, other)
    (other / 'last_checkpoint').write_text(str(other / 'epoch_2.pth'))
    line = _refused(
        run_tool([
            'train.py', cfg, '--work-dir', other, '--resume', '--pretrained',
            stock
        ],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith(
        f'ResumeStateError: {other / "epoch_2.pth"} {expected}'), line

    # Training from it (load_from, no --resume) as the line says, typed
    # after the resume's own --work-dir as a user keeps it, trains the
    # adapters in a work dir of its own: in `other`, its epoch_2.pth would
    # replace the file it loads.
    advice = re.search(r'\(tools/train\.py CONFIG (.*?)\), without --resume',
                       line)
    assert advice, line
    args = advice.group(1).split()
    assert args == [
        '--work-dir', f'{other}_from_epoch_2', '--cfg-options',
        f'load_from={other / "epoch_2.pth"}'
    ]
    loaded = (other / 'epoch_2.pth').read_bytes()
    proc = run_tool(
        ['train.py', cfg, '--work-dir', other] + args, cwd=tmp_path)
    assert 'Epoch(train) [2][2/2]' in proc.stdout
    assert (tmp_path / 'other_from_epoch_2' / 'epoch_2.pth').is_file()
    assert (other / 'epoch_2.pth').read_bytes() == loaded


def test_a_converted_backbone_given_to_resume_says_to_give_it_as_pretrained(
        tmp_path, runs):
    """A backbone's pretrained weights as convert_official.py writes them
    (``backbone.*`` and a ``meta`` without an epoch) given to ``--resume``:
    one line that says what the file is and names ``--pretrained FILE``,
    for the stock and the AdaptFormer config (whose AdapterHook sees it
    first); it said 'after epoch ?' before."""
    stock = runs['stock'][1] / 'epoch_2.pth'
    weights = safe_torch_load(str(stock))['state_dict']
    converted = tmp_path / 'videomae_vitb_k400.pth'
    torch.save(
        dict(
            state_dict={
                k: v
                for k, v in weights.items() if k.startswith('backbone.')
            },
            meta=dict(
                converted_from='pretrain_videomae_base.pth',
                source_type='videomae')), str(converted))
    for name in ('stock', 'adapter'):
        cfg, _ = runs[name]
        pretrained = ['--pretrained', stock] if name == 'adapter' else []
        line = _refused(
            run_tool(
                [
                    'train.py', cfg, '--work-dir', tmp_path / name, '--resume',
                    converted
                ] + pretrained,
                cwd=tmp_path,
                check=False))
        assert line.startswith(
            f'ResumeStateError: {converted} cannot be resumed: it is not a '
            "checkpoint that training saved (its 'meta' has no 'epoch' and "
            "no 'iter'"), line
        assert ("It is a backbone's pretrained weights (its 31 tensors are "
                "all under 'backbone.', converted from "
                'pretrain_videomae_base.pth by tools/model_converters). To '
                "train from it, give it as the backbone's pretrained "
                f'weights: tools/train.py CONFIG --pretrained {converted}, '
                'without --resume.') in line, line
        assert 'epoch ?' not in line
        assert not list((tmp_path / name).glob('epoch_*.pth'))


def test_optimizer_or_scheduler_state_of_another_config_is_refused(
        tmp_path, runs):
    cfg, work = runs['stock']
    epoch_1 = work / 'epoch_1.pth'
    # Another paramwise_cfg: one param group per tensor.
    line = _refused(
        run_tool([
            'train.py', cfg, '--work-dir', tmp_path / 'pw', '--resume',
            epoch_1, '--cfg-options',
            'optim_wrapper.paramwise_cfg.norm_decay_mult=0.'
        ],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith(
        f'ResumeStateError: {epoch_1} cannot be resumed: its optimizer state '
        "does not fit this run's optimizer: 1 param groups holding 32 "
        'tensors [32] in the checkpoint, 32 holding 32 [1, 1, 1, 1, 1, ...] '
        'in this run. It was saved by another model or config'), line

    # Linear probing resumed from the full fine-tuning run: the optimizer
    # holds the head alone (torch raised a ValueError about the group's
    # size).
    probe = write_config(
        tmp_path / 'probe.py', cfg, "custom_hooks = [dict(type='AdapterHook', "
        "mode='linear_probe')]\n")
    line = _refused(
        run_tool([
            'train.py', probe, '--work-dir', tmp_path / 'lp', '--resume',
            epoch_1
        ],
                 cwd=tmp_path,
                 check=False))
    assert ('its optimizer state does not fit this run\'s optimizer: 1 '
            'param groups holding 32 tensors [32] in the checkpoint, 1 '
            'holding 2 [2] in this run.') in line, line

    # A head of another number of classes: its weights are refused first
    # (CheckpointCheckHook). Without that hook MMEngine kept the head's
    # random weights with a warning and the step failed on the momentum's
    # shape. The datasets declare 3 classes too, or train.py would refuse
    # the head for the data's 2 before the Runner.
    three = [
        f'{loader}.dataset.num_classes=3'
        for loader in ('train_dataloader', 'val_dataloader')
    ]
    proc = run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'nc', '--resume', epoch_1,
        '--cfg-options', 'model.cls_head.num_classes=3', *three
    ],
                    cwd=tmp_path,
                    check=False)
    _refused(proc)
    assert (f'StateDictMismatchError: {epoch_1} does not fit the model'
            in proc.stdout), proc.stdout[-3000:]
    unchecked = Config.fromfile(cfg)
    unchecked.default_hooks.pop('checkpoint_check')
    unchecked.model.cls_head.num_classes = 3
    unchecked.train_dataloader.dataset.num_classes = 3
    unchecked.val_dataloader.dataset.num_classes = 3
    unchecked.dump(str(tmp_path / 'unchecked.py'))
    line = _refused(
        run_tool([
            'train.py', tmp_path / 'unchecked.py', '--work-dir',
            tmp_path / 'nc2', '--resume', epoch_1
        ],
                 cwd=tmp_path,
                 check=False))
    assert re.search(
        r"its optimizer state does not fit this run's optimizer: the "
        r'momentum_buffer of tensor \d+ \(param group 0\) has shape '
        r'\((2, 64|2,)\) in the checkpoint, but its parameter here has '
        r'\((3, 64|3,)\)\.', line), line

    # A warm-up added in front of the cosine: MMEngine paired the states in
    # order and loaded the cosine's onto the warm-up.
    warmup = write_config(
        tmp_path / 'warmup.py', cfg,
        "param_scheduler = [dict(type='LinearLR', start_factor=0.1, end=1), "
        "dict(type='CosineAnnealingLR', T_max=2, eta_min=0., by_epoch=True)]"
        '\n')
    line = _refused(
        run_tool([
            'train.py', warmup, '--work-dir', tmp_path / 'wu', '--resume',
            epoch_1
        ],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith(
        f'ResumeStateError: {epoch_1} cannot be resumed: it holds 1 param '
        'scheduler states for param_scheduler, but the config builds 2 '
        '(LinearLR, CosineAnnealingLR)'), line


def test_extending_a_schedule_warns_that_the_checkpoint_schedule_is_kept(
        tmp_path, runs):
    cfg, work = runs['stock']
    proc = run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'w', '--resume',
        work / 'epoch_2.pth', '--cfg-options', 'train_cfg.max_epochs=3',
        'param_scheduler.0.T_max=3'
    ],
                    cwd=tmp_path)
    warnings = [
        line for line in proc.stdout.splitlines() if 'Resuming from' in line
    ]
    assert len(warnings) == 1, proc.stdout[-3000:]
    assert ' - WARNING - ' in warnings[0]
    assert (f'Resuming from {work / "epoch_2.pth"}: the config\'s '
            "param_scheduler differs from the checkpoint's "
            '(CosineAnnealingLR (param_scheduler[0]): T_max 2 vs 3, end 2 '
            "vs 3; checkpoint vs config), and the checkpoint's schedule is "
            'kept') in warnings[0]
    # As it says: the learning rate stays where the old schedule ended.
    lrs = re.findall(r'Epoch\(train\) \[3\]\[\d/2\]\s+lr: (\S+)', proc.stdout)
    assert lrs and set(lrs) == {'2.5000e-02'}, lrs


def test_changed_optimizer_settings_warn_that_the_checkpoints_are_kept(
        tmp_path, runs):
    cfg, work = runs['stock']
    epoch_1 = work / 'epoch_1.pth'
    proc = run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'w', '--resume', epoch_1,
        '--cfg-options', 'optim_wrapper.optimizer.lr=0.1',
        'optim_wrapper.optimizer.weight_decay=0.0001'
    ],
                    cwd=tmp_path)
    warnings = [
        line for line in proc.stdout.splitlines() if 'Resuming from' in line
    ]
    assert len(warnings) == 1, proc.stdout[-3000:]
    assert ' - WARNING - ' in warnings[0]
    assert (f"Resuming from {epoch_1}: the config's optimizer settings "
            "differ from the checkpoint's (lr 0.1 in the config, 0.05 in the "
            'checkpoint; weight_decay 0.0001 in the config, 0.0 in the '
            'checkpoint; base values, before any param_scheduler), and the '
            "checkpoint's are kept") in warnings[0]
    assert (f'--work-dir {tmp_path / "w"}_from_epoch_1 --cfg-options '
            f'load_from={epoch_1}, without --resume') in warnings[0]
    # As it says: epoch 2 trains at the checkpoint's cosine (0.05 -> 0.025).
    lrs = re.findall(r'Epoch\(train\) \[2\]\[\d/2\]\s+lr: (\S+)', proc.stdout)
    assert lrs and set(lrs) == {'2.5000e-02'}, lrs
