# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/train.py, tools/test.py and dist_train.sh, run as a user runs them:
real MMEngine runners on real video/image files, in fresh processes."""
import json
import os.path as osp
import pickle
import re

import torch
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, image_data_cfg,
                     run_tool, stripes_config, video_data_cfg, write_config)
from tool_runners import free_port

from mmadaptformer.utils import safe_torch_load


def _state_dict_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_video_train_resume_and_test(tmp_path, tiny_video_data):
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    work_dir = tmp_path / 'work'
    run_tool(['train.py', cfg, '--work-dir', work_dir, '--seed', '0'],
             cwd=tmp_path)
    assert (work_dir / 'epoch_2.pth').is_file()

    # The MMEngine checkpoint, message hub included, loads with
    # weights_only=True.
    ckpt2 = safe_torch_load(str(work_dir / 'epoch_2.pth'))
    assert ckpt2['meta']['epoch'] == 2
    assert 'train/loss' in ckpt2['message_hub']['log_scalars']

    # --resume (auto) continues from epoch 2 instead of starting over.
    proc = run_tool([
        'train.py', cfg, '--work-dir', work_dir, '--resume', '--cfg-options',
        'train_cfg.max_epochs=3'
    ],
                    cwd=tmp_path)
    assert 'resumed epoch: 2, iter: 4' in proc.stdout
    assert 'Epoch(train) [1]' not in proc.stdout
    assert 'Epoch(train) [3][2/2]' in proc.stdout
    ckpt3 = safe_torch_load(str(work_dir / 'epoch_3.pth'))
    assert ckpt3['meta']['epoch'] == 3 and ckpt3['meta']['iter'] == 6
    # Training went on from the resumed weights: they changed again.
    assert not _state_dict_equal(ckpt2['state_dict'], ckpt3['state_dict'])

    # --resume PATH resumes from that file (here: epoch 2 again).
    proc = run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'work_path', '--resume',
        work_dir / 'epoch_2.pth', '--cfg-options', 'train_cfg.max_epochs=3'
    ],
                    cwd=tmp_path)
    assert 'resumed epoch: 2, iter: 4' in proc.stdout

    # Multi-view test with a dump of the predictions.
    dump = tmp_path / 'preds.pkl'
    proc = run_tool([
        'test.py', cfg, work_dir / 'epoch_3.pth', '--work-dir',
        tmp_path / 'test', '--dump', dump
    ],
                    cwd=tmp_path)
    assert re.search(r'Epoch\(test\) \[8/8\]\s+acc/top1: ', proc.stdout)
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 8  # every validation video, none dropped
    # 2 clips x 3 crops per video are averaged into one score per class.
    assert preds[0]['pred_score'].shape == (2, )


def test_image_train_and_test(tmp_path, tiny_image_data):
    cfg = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                       image_data_cfg(tiny_image_data))
    work_dir = tmp_path / 'work'
    proc = run_tool([
        'train.py', cfg, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path)
    assert 'accuracy/top1' in proc.stdout
    proc = run_tool(
        ['test.py', cfg, work_dir / 'epoch_1.pth', '--work-dir', work_dir],
        cwd=tmp_path)
    assert re.search(r'Epoch\(test\) \[2/2\]\s+accuracy/top1: ', proc.stdout)

    # MMPretrain's test flags: flip TTA, mixed precision (bfloat16 on the
    # CPU), predictions to --out.
    preds = tmp_path / 'preds.pkl'
    proc = run_tool([
        'test.py', cfg, work_dir / 'epoch_1.pth', '--work-dir', work_dir,
        '--tta', '--amp', '--no-pin-memory', '--out', preds
    ],
                    cwd=tmp_path)
    assert re.search(r'Epoch\(test\) \[2/2\]\s+accuracy/top1: ', proc.stdout)
    with open(preds, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 8 and preds[0]['pred_score'].shape == (2, )


def test_dist_train_two_cpu_processes(tmp_path, tiny_video_data,
                                      served_torchrun):
    """dist_train.sh CONFIG 2 on a machine without a GPU: gloo DDP."""
    body = video_data_cfg(tiny_video_data) + (
        "custom_imports = dict(imports=['mmadaptformer', "
        "'mmadaptformer.testing.probes'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='DistProbeHook')]\n")
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)
    work_dir = tmp_path / 'work'
    run_tool(['dist_train.sh', cfg, 2, '--work-dir', work_dir, '--seed', '0'],
             cwd=tmp_path,
             env=dict(PORT=str(free_port())),
             timeout=400)
    probes = [
        json.load(open(work_dir / f'dist_probe_rank{r}.json'))
        for r in range(2)
    ]
    assert [p['rank'] for p in probes] == [0, 1]
    assert all(p['world_size'] == 2 and p['backend'] == 'gloo' for p in probes)
    # 8 training videos, batch 4 per rank, 2 ranks: 1 step per epoch.
    assert [len(p['steps']) for p in probes] == [2, 2]
    for epoch in range(2):
        shards = [set(p['epoch_indices'][epoch]) for p in probes]
        # Each rank trained on its own half of the epoch...
        assert len(shards[0]) == 4 and len(shards[1]) == 4
        assert not shards[0] & shards[1]
        assert shards[0] | shards[1] == set(range(8))
        # ...on different data, yet the weights stay identical across ranks
        # after every step: the gradients were averaged.
        w0, w1 = (p['steps'][epoch]['weights'] for p in probes)
        assert w0 == w1
        assert probes[0]['steps'][epoch]['loss'] != probes[1]['steps'][epoch][
            'loss']
    assert probes[0]['steps'][0]['weights'] != probes[0]['steps'][1]['weights']
    # Rank 0 wrote the checkpoint, and it holds the trained weights.
    ckpt = safe_torch_load(str(work_dir / 'epoch_2.pth'))
    final = probes[0]['steps'][-1]['weights']
    saved = {k: float(ckpt['state_dict'][k].double().sum()) for k in final}
    assert saved == final
    assert not osp.exists(work_dir / 'epoch_3.pth')


def test_flip_tta_with_the_adapter_hooks(tmp_path, tiny_image_data):
    """--tta wraps the model in mmpretrain's AverageClsScoreTTA: the hooks
    saw its ``module.`` keys and refused every checkpoint (adapter-only,
    merged), and the linear probe found nothing to train."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    pretrained = str(tmp_path / 'stock.pth')
    init_default_scope('mmpretrain')
    stock = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
    stock.init_weights()
    torch.save({'state_dict': stock.state_dict(), 'meta': {}}, pretrained)
    hooks = ('default_hooks = dict(checkpoint_check=dict('
             "type='CheckpointCheckHook'), config_check=dict("
             "type='ConfigCheckHook'))\n")
    for mode in ('adaptformer', 'linear_probe'):
        folder = tmp_path / mode
        folder.mkdir()
        extra = hooks + ("custom_hooks = [dict(type='AdapterHook', "
                         f"mode='{mode}', adapter_only_checkpoint=True)]\n")
        cfg = stripes_config(folder, tiny_image_data, extra) \
            if mode == 'adaptformer' else write_config(
                folder / 'lp.py', TINY_IMAGE_CONFIG,
                image_data_cfg(tiny_image_data) + extra)
        work_dir = folder / 'work'
        run_tool([
            'train.py', cfg, '--work-dir', work_dir, '--pretrained',
            pretrained, '--cfg-options', 'train_cfg.max_epochs=1'
        ],
                 cwd=tmp_path)
        ckpt = work_dir / 'epoch_1.pth'
        plain = run_tool([
            'test.py', cfg, ckpt, '--pretrained', pretrained, '--work-dir',
            work_dir
        ],
                         cwd=tmp_path)
        tta = run_tool([
            'test.py', cfg, ckpt, '--pretrained', pretrained, '--work-dir',
            work_dir, '--tta'
        ],
                       cwd=tmp_path)
        for proc in (plain, tta):
            assert re.search(r'Epoch\(test\) \[2/2\]\s+accuracy/top1: ',
                             proc.stdout), proc.stdout[-2000:]
