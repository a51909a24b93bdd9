# Copyright (c) mmadaptformer contributors. All rights reserved.
"""BatchNorm head statistics agree across ranks under 2-process CPU DDP."""
import json

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_ranks,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from tool_runners import free_port


@pytest.mark.parametrize('sync', [True, False])
def test_bn_head_statistics_agree_across_ranks(tmp_path, tiny_video_data,
                                               sync):
    pretrained = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(pretrained)
    extra = (
        "custom_imports = dict(imports=['mmadaptformer', "
        "'mmadaptformer.testing.probes'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='AdapterHook', adapter_only_checkpoint="
        "True), dict(type='DistProbeHook')]\n"
        'train_cfg = dict(max_epochs=1)\n')
    if not sync:
        # MMEngine cannot switch off a non-default hook with None.
        extra += ('default_hooks = dict(_delete_=True, '
                  "runtime_info=dict(type='RuntimeInfoHook'), "
                  "timer=dict(type='IterTimerHook'), "
                  "logger=dict(type='LoggerHook', interval=1), "
                  "param_scheduler=dict(type='ParamSchedulerHook'), "
                  "checkpoint=dict(type='CheckpointHook', interval=1), "
                  "sampler_seed=dict(type='DistSamplerSeedHook'))\n")
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + pretrained_cfg(pretrained) + extra)
    work = tmp_path / 'work'
    run_ranks(['train.py', cfg, '--work-dir', work, '--seed', '0'],
              2,
              cwd=tmp_path,
              port=free_port(),
              timeout=400)
    buffers = [
        json.load(open(work / f'dist_probe_rank{r}.json'))['epoch_buffers'][0]
        for r in range(2)
    ]
    stats = [k for k in buffers[0] if k.startswith('cls_head.bn.running_')]
    assert sorted(stats) == [
        'cls_head.bn.running_mean', 'cls_head.bn.running_var'
    ]
    same = [buffers[0][k] == buffers[1][k] for k in stats]
    # Each rank saw its own shard, so only syncing makes them agree.
    assert all(same) if sync else not any(same)
    # The frozen backbone's buffers are never touched.
    frozen = [k for k in buffers[0] if k.startswith('backbone.')]
    assert frozen and all(buffers[0][k] == buffers[1][k] for k in frozen)
