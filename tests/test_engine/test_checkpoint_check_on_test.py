# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``runner.test()`` and ``runner.val()`` on our configs (what mmaction2's
and mmpretrain's own ``tools/test.py`` do: build a Runner with
``load_from`` set to the checkpoint and call ``runner.test()``).

MMEngine's ``Runner.load_checkpoint`` is a training transfer, exempt from
the whole-classifier check of the evaluation loads
(:mod:`mmadaptformer.utils.head_fit`). The recipes' hooks, in every config's
``default_hooks``/``custom_hooks``, already refuse on that path, before the
test loop runs: ``CheckpointCheckHook`` a head of another number of
classes (its ``after_load_checkpoint`` runs for every load of the Runner,
test and val included), ``AdapterHook`` a full checkpoint without the
model's adapters. These are guards of kept behaviour: they pass on the code
before this change too.
"""
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, image_data_cfg,
                     save_as_built_checkpoint, video_data_cfg, write_config)

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _runner(config, ckpt, work_dir):
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    cfg.load_from = ckpt
    cfg.work_dir = str(work_dir)
    return Runner.from_cfg(cfg)


@pytest.mark.parametrize('loop', ['test', 'val'])
def test_runner_refuses_a_head_of_another_size(loop, tmp_path, tiny_image_data,
                                               clean_loggers):
    base = image_data_cfg(tiny_image_data)
    two = write_config(tmp_path / 'two.py', TINY_IMAGE_CONFIG, base)
    five = write_config(
        tmp_path / 'five.py', TINY_IMAGE_CONFIG,
        base + 'model = dict(head=dict(num_classes=5), '
        'data_preprocessor=dict(num_classes=5))\n')
    ckpt = save_as_built_checkpoint(five, tmp_path / 'five.pth')
    runner = _runner(two, ckpt, tmp_path / 'work')
    head = runner.model.head.fc.weight.detach().clone()
    with pytest.raises(StateDictMismatchError) as info:
        getattr(runner, loop)()
    text = str(info.value)
    assert text.startswith(f'{ckpt} does not fit the model'), text
    assert 'head.fc.weight: (5, 64) vs (2, 64)' in text, text
    assert 'model.head.num_classes=5' in text, text
    # Refused before anything of it loaded.
    assert torch.equal(runner.model.head.fc.weight, head)


def test_runner_test_refuses_a_stock_checkpoint_for_adaptformer(
        tmp_path, tiny_video_data, clean_loggers):
    stock = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                         video_data_cfg(tiny_video_data))
    ckpt = save_as_built_checkpoint(stock, tmp_path / 'stock.pth')
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    runner = _runner(config, ckpt, tmp_path / 'work')
    with pytest.raises(
            StateDictMismatchError,
            match=f"^{ckpt} holds none of the model's 8 adapter tensors"):
        runner.test()
