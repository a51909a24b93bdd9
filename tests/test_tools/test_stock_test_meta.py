# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/test.py`` with a stock config reads no ``meta``, as MMAction2's
does (guards kept behaviour, chosen on purpose; see the README's
``CheckpointMetaError``).

Nothing in ``meta`` changes what a stock model loads: its weights are
checked against the model in full, so a meta that AdaptFormer configs
refuse (``CheckpointMetaError``) cannot make a stock model evaluate other
weights than the file's, and an adapter-only file is refused with or
without its record.
"""
import re

import pytest
import torch
from adapter_only_files import built_with_adapter_only
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import video_data_cfg, write_config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from tool_runners import run_tool


@pytest.fixture(scope='module')
def stock_config(tmp_path_factory, tiny_video_data):
    root = tmp_path_factory.mktemp('stock_meta')
    return root, write_config(root / 'cfg.py', TINY_VIDEO_CONFIG,
                              video_data_cfg(tiny_video_data))


def _test(root, config, checkpoint, name):
    return run_tool(
        ['test.py', config, checkpoint, '--work-dir', root / f'w_{name}'],
        cwd=root,
        check=False)


def test_a_stock_model_is_evaluated_whatever_its_meta(stock_config):
    root, config = stock_config
    state = save_stock_video_checkpoint(str(root / 'stock.pth'))
    scores = []
    for name, meta in (('dict', {}), ('str', 'not a dict')):
        path = str(root / f'{name}.pth')
        torch.save({'state_dict': state, 'meta': meta}, path)
        proc = _test(root, config, path, name)
        assert proc.returncode == 0, proc.stdout[-3000:]
        scores.append(re.findall(r'acc/top1: \S+', proc.stdout))
    assert scores[0] and scores[0] == scores[1], scores


def test_an_adapter_only_file_with_a_bad_meta_is_still_refused(stock_config):
    root, config = stock_config
    _, _, checkpoint = built_with_adapter_only(TINY_ADAPTFORMER_VIDEO_CONFIG)
    path = str(root / 'adapters.pth')
    torch.save(dict(checkpoint, meta='not a dict'), path)
    proc = _test(root, config, path, 'adapters')
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert (f'CheckpointMetaError: {path} has a meta that is a str, not a '
            'dict, but its state dict holds backbone.frozen_host_fingerprints'
            ) in proc.stdout, proc.stdout[-3000:]
    assert 'acc/top1' not in proc.stdout
