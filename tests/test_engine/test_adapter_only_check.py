# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint tested with the stock config (no adapters):
refused on one line, not tested on a random backbone."""
from helpers import TINY_VIDEO_CONFIG, run_tool, video_data_cfg, write_config
from refusal_lines import refused_line


def test_stock_config_refuses_an_adapter_only_checkpoint(
        video_tasks, tiny_video_data, tmp_path):
    ckpt = video_tasks['full']['checkpoint']
    stock = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                         video_data_cfg(tiny_video_data))
    proc = run_tool(['test.py', stock, ckpt, '--work-dir', tmp_path / 's'],
                    cwd=tmp_path,
                    check=False)
    refused_line(proc)
    assert (f'StateDictMismatchError: {ckpt} is an adapter-only checkpoint'
            in proc.stdout), proc.stdout[-3000:]
    assert 'backbone.blocks.0.adaptmlp' in proc.stdout
    assert 'acc/top1' not in proc.stdout
    # With the config it was trained with it tests.
    run_tool([
        'test.py', video_tasks['full']['config'], ckpt, '--work-dir',
        tmp_path / 'a'
    ],
             cwd=tmp_path)
