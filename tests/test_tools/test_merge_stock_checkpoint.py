# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``merge_adapters.py`` given a checkpoint without the config's adapters
(the stock model trained first, whose file users mistake for the
adapters) says there are none to merge and what to give, rather than
"it needs no merging", which read as if the file were a merged one
ready for deployment."""
from checkpoint_makers import (save_as_built_checkpoint,
                               save_stock_video_checkpoint)
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool


def test_stock_checkpoint_has_no_adapters_to_merge(tmp_path):
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    proc = run_tool([
        'model_converters/merge_adapters.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        stock,
        str(tmp_path / 'out.pth')
    ],
                    cwd=str(tmp_path),
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 1, proc.stderr
    line = proc.stdout + proc.stderr
    assert (f'Error: {stock} is not an adapter-only checkpoint (its meta '
            "has no 'adapter_checkpoint'); it holds none of the model's 8 "
            'adapter tensors either (e.g. '
            'backbone.blocks.0.adaptmlp.down_proj.weight)') in line
    assert 'no adapters to merge' in line
    assert 'needs no merging' not in line
    assert not (tmp_path / 'out.pth').exists()


def test_full_checkpoint_needs_no_merging(tmp_path):
    """Guards what already worked: a full AdaptFormer checkpoint (adapters
    included) is still told it needs no merging."""
    full = save_as_built_checkpoint(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                    str(tmp_path / 'full.pth'))
    proc = run_tool([
        'model_converters/merge_adapters.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        full,
        str(tmp_path / 'out.pth')
    ],
                    cwd=str(tmp_path),
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 1, proc.stderr
    assert 'it needs no merging.' in proc.stdout + proc.stderr
    assert 'holds none' not in proc.stdout + proc.stderr
