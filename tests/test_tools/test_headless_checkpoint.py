# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/test.py`` with a checkpoint that has no head, through the real
tools.

``convert_official.py`` keeps the backbone alone of an MMAction2-layout
checkpoint (it drops ``cls_head``). Given to ``tools/test.py`` as the
checkpoint, it loaded with a random head, logged a WARNING ("loading 2
tensors from their initialisation") and reported accuracy as if it meant
something. It is now refused on one line that names the file, the missing
keys and ``--pretrained``. Training from it (``--pretrained``) and testing
the adapter-only checkpoint that training writes still work."""
import os.path as osp

import torch
from checkpoint_makers import save_as_built_checkpoint
from config_writers import image_data_cfg, video_data_cfg, write_config
from headless_checkpoints import converted_stock_backbone, save_without
from refusal_lines import refused_line
from repo_paths import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG,
                        TINY_VIDEO_CONFIG)
from tool_runners import run_tool


def test_converted_backbone_is_refused_by_test_py(tmp_path, tiny_video_data):
    converted = converted_stock_backbone(tmp_path)
    config = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool(
        ['test.py', config, converted, '--work-dir', tmp_path / 'work'],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Epoch(test)'])
    assert line.startswith(
        f"StateDictMismatchError: {converted} holds none of the model's "
        'head (cls_head.*) tensors: 2 missing (cls_head.fc_cls.weight, '
        'cls_head.fc_cls.bias)'), line
    assert 'give the file to tools/train.py as --pretrained' in line, line


def test_training_from_it_and_testing_what_trained_still_work(
        tmp_path, tiny_video_data):
    """Guard of kept behaviour: the converted file is the AdaptFormer
    recipe's ``--pretrained`` backbone (a fresh head trains), and the
    adapter-only checkpoint that training writes (it holds the head) tests
    on it."""
    converted = converted_stock_backbone(tmp_path)
    config = write_config(
        tmp_path / 'adaptformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + 'train_cfg = dict(max_epochs=1)\n'
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n')
    work = tmp_path / 'work'
    run_tool([
        'train.py', config, '--work-dir',
        str(work), '--pretrained', converted
    ], tmp_path)
    trained = str(work / 'epoch_1.pth')
    meta = torch.load(trained, weights_only=False)['meta']
    assert 'adapter_checkpoint' in meta
    proc = run_tool([
        'test.py', config, trained, '--pretrained', converted, '--work-dir',
        str(tmp_path / 'test')
    ], tmp_path)
    assert 'Epoch(test)' in proc.stdout
    assert 'from their initialisation' not in proc.stdout


def test_image_checkpoint_without_head_is_refused_by_test_py(
        tmp_path, tiny_image_data):
    config = write_config(
        tmp_path / 'adaptformer.py',
        osp.join(CONFIGS, 'tiny', 'tiny_adaptformer_image.py'),
        image_data_cfg(tiny_image_data))
    headless = save_without(
        save_as_built_checkpoint(config, tmp_path / 'full.pth'),
        tmp_path / 'headless.pth', ['head.'])
    proc = run_tool(
        ['test.py', config, headless, '--work-dir', tmp_path / 'work'],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Epoch(test)'])
    assert line.startswith(
        f"StateDictMismatchError: {headless} holds none of the model's "
        'head (head.*) tensors: 4 missing (head.fc.weight, head.fc.bias, '
        'head.bn.running_mean, head.bn.running_var)'), line
