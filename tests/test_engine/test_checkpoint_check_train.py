# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``CheckpointCheckHook`` refuses to evaluate a head that the loaded
checkpoint lacks only before training: a run that loads a checkpoint
without its head (``load_from``) and trains validates the head it trained,
at every validation of the run. Guards of kept behaviour (mutation audit:
they fail when ``before_train`` keeps the noted missing head)."""
import pytest
import torch
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, write_config

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _headless(config, path):
    """A full checkpoint of ``config``'s model without its head."""
    from mmadaptformer.apis import init_model
    torch.manual_seed(0)
    model, _ = init_model(config)
    state = {
        k: v
        for k, v in model.state_dict().items() if not k.startswith('head.')
    }
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def _runner(config, ckpt, work_dir):
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    cfg.load_from = ckpt
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_epochs = 1
    return Runner.from_cfg(cfg)


def test_a_run_that_trains_from_a_headless_checkpoint_validates(
        tmp_path, tiny_image_data, clean_loggers):
    config = write_config(tmp_path / 'vit.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    ckpt = _headless(config, tmp_path / 'headless.pth')
    runner = _runner(config, ckpt, tmp_path / 'work')
    runner.train()  # validates after its epoch
    assert runner.epoch == 1
    assert any(
        key.startswith('val/') for key in runner.message_hub.log_scalars), \
        list(runner.message_hub.log_scalars)


def test_testing_a_headless_checkpoint_is_refused(tmp_path, tiny_image_data,
                                                  clean_loggers):
    """Guard of kept behaviour: without training, the head is refused."""
    config = write_config(tmp_path / 'vit.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    ckpt = _headless(config, tmp_path / 'headless.pth')
    runner = _runner(config, ckpt, tmp_path / 'work')
    with pytest.raises(StateDictMismatchError, match='head'):
        runner.test()
