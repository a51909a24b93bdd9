# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The recipes drop a last training batch of one sample.

Their BatchNorm head (``BNLinearHead``) cannot train on one sample, and a
dataset whose size leaves a remainder of 1 at the batch size gave one at
the end of every epoch: SSv2's 168,913 training videos at 16 a batch on one
GPU, or the fabricated HMDB51 split below at 2. The run ended in torch's
``ValueError: Expected more than 1 value per channel when training``, after
a whole epoch, naming neither the head nor the dataloader. The recipes now
drop the last incomplete batch (``train_dataloader.drop_last=True``), as the
official code's training loader does.
"""
import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from repo_paths import CONFIGS
from tool_runners import run_tool

from mmadaptformer.testing import write_video

RECIPES = sorted(
    glob.glob(osp.join(CONFIGS, 'adaptformer_vitb_*.py')) +
    glob.glob(osp.join(CONFIGS, 'baselines', '*.py')))
HMDB51_CLASSES = [f'class_{i:02d}' for i in range(51)]
#: The recipe at a size a CPU trains in seconds, as the README shrinks it.
SHRINK = [
    'model.backbone.backbone.embed_dims=64', 'model.backbone.backbone.depth=2',
    'model.backbone.backbone.num_heads=2', 'model.cls_head.in_channels=64',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
    'optim_wrapper.type=OptimWrapper'
]


@pytest.mark.parametrize(
    'path', RECIPES, ids=lambda p: osp.relpath(p, CONFIGS))
def test_recipes_drop_the_last_incomplete_training_batch(path):
    assert Config.fromfile(path).train_dataloader.drop_last is True


def _hmdb51(root):
    """``data/hmdb51`` as ``build_file_list.py`` writes it: 3 training
    videos (a last batch of 1 at 2 a batch), 51 classes."""
    folder = osp.join(root, 'data', 'hmdb51')
    frames = np.zeros((8, 32, 32, 3), np.uint8)
    lines = []
    for i, name in enumerate(HMDB51_CLASSES[:3]):
        os.makedirs(osp.join(folder, 'videos', name))
        frames[:] = 40 * i
        write_video(osp.join(folder, 'videos', name, 'v.avi'), frames)
        lines.append(f'{name}/v.avi {i}\n')
    with open(osp.join(folder, 'hmdb51_train_split_1_videos.txt'), 'w') as f:
        f.writelines(lines)
    with open(osp.join(folder, 'hmdb51_label_map.txt'), 'w') as f:
        f.write('\n'.join(HMDB51_CLASSES) + '\n')


def test_hmdb51_recipe_trains_a_last_batch_of_one_sample_away(tmp_path):
    from mmaction.models.backbones.vit_mae import VisionTransformer
    _hmdb51(tmp_path)
    backbone = VisionTransformer(
        img_size=224,
        embed_dims=64,
        depth=2,
        num_heads=2,
        num_frames=8,
        use_mean_pooling=True,
        norm_cfg=dict(type='LN', eps=1e-6))
    torch.save(backbone.state_dict(), tmp_path / 'videomae.pth')
    proc = run_tool([
        'train.py',
        osp.join(CONFIGS, 'adaptformer_vitb_hmdb51.py'), '--pretrained',
        'videomae.pth', '--no-validate', '--cfg-options', *SHRINK
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'Epoch(train) [1][1/1]' in proc.stdout
    assert 'Epoch(train) [1][2/' not in proc.stdout
    assert osp.isfile(tmp_path / 'work_dirs' / 'adaptformer_vitb_hmdb51' /
                      'epoch_1.pth')
