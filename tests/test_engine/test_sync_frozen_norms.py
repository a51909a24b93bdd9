# Copyright (c) mmadaptformer contributors. All rights reserved.
"""SyncNormStatsHook leaves the frozen backbone's batch norms alone under a
3-process CPU DDP run (gloo).

Averaging identical float32 values by sum-then-divide is not exact for a
world size that is not a power of two (for 3 ranks about 15% of values
change), so syncing UniFormer's frozen convolution-stage batch norms changed
frozen tensors after each epoch: AdapterHook (which checks before the sync)
stopped the next epoch, and a one-epoch run saved a backbone that was no
longer the pretrained one.
"""
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_ranks, video_data_cfg,
                     write_config)
from tiny_uniformer import save_uniformer_checkpoint, uniformer_model_cfg
from tool_runners import free_port

from mmadaptformer.utils import safe_torch_load


def test_three_ranks_keep_frozen_batch_norms_bit_identical(
        tmp_path, tiny_video_data):
    """Three ranks train one epoch of a UniFormer AdaptFormer recipe with the
    default hooks (SyncNormStatsHook included): every running statistic of
    the frozen backbone in the saved full checkpoint is bit-identical to the
    pretrained file's (the old hook changed about 15% of their values)."""
    pretrained = str(tmp_path / 'uniformer.pth')
    stock = save_uniformer_checkpoint(pretrained)
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + uniformer_model_cfg(pretrained) +
        "custom_hooks = [dict(type='AdapterHook', "
        'adapter_only_checkpoint=False)]\n'
        'train_cfg = dict(max_epochs=1, val_begin=2)\n')
    work = tmp_path / 'work'
    run_ranks(['train.py', cfg, '--work-dir', work, '--seed', '0'],
              3,
              cwd=tmp_path,
              port=free_port(),
              timeout=400)
    saved = safe_torch_load(str(work / 'epoch_1.pth'))['state_dict']
    stats = [k for k in stock if '.running_' in k or k.startswith('norm.')]
    assert len(stats) >= 10
    changed = [
        k for k in stats if not torch.equal(saved[f'backbone.{k}'], stock[k])
    ]
    assert not changed
