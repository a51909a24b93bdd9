# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The head's ``num_classes`` against a data preprocessor set at the top
level, as MMPretrain's configs set it (``data_preprocessor =
dict(num_classes=1000, mean=..., std=...)``; MMEngine's Runner gives it to
a model config without one).

The tools' early check read ``model.data_preprocessor`` only, so such a
config (a stock MMPretrain recipe whose head was set to the data's
classes) was refused by ``ConfigCheckHook`` only after the model was built
and its weights loaded; and both named ``model.data_preprocessor.
num_classes``, whose advice, followed (``model =
dict(data_preprocessor=dict(num_classes=2))``), replaces the top-level
preprocessor whole: the model then ran on inputs without its mean and std.
"""
import pytest
from config_writers import image_data_cfg, write_config
from mmengine.config import Config
from mmengine.runner import Runner
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.engine import check_head_classes, data_preprocessor_key
from mmadaptformer.utils import ConfigError

#: The tiny image config with its preprocessor moved to the top level and
#: left at another number of classes than the head's 2.
_TOP_LEVEL = """
model = dict(data_preprocessor=dict(_delete_=True))
data_preprocessor = dict(
    num_classes=1000, mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375], to_rgb=True)
default_hooks = dict(config_check=dict(type='ConfigCheckHook'))
"""


def _top_level_cfg(tmp_path, data: str) -> Config:
    path = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                        image_data_cfg(data) + _TOP_LEVEL)
    cfg = Config.fromfile(path)
    # ``_delete_`` with nothing else leaves an empty dict: the model names
    # no preprocessor, as MMPretrain's configs do.
    cfg.model.pop('data_preprocessor')
    return cfg


def test_key_of_a_top_level_preprocessor():
    assert data_preprocessor_key(
        Config(dict(model=dict(), data_preprocessor=dict()))) == \
        'data_preprocessor'
    # The model's own replaces the top-level one.
    assert data_preprocessor_key(
        Config(
            dict(
                model=dict(data_preprocessor=dict()),
                data_preprocessor=dict()))) == 'model.data_preprocessor'
    assert data_preprocessor_key(Config(dict(model=dict()))) == \
        'model.data_preprocessor'
    assert data_preprocessor_key(None) == 'model.data_preprocessor'


def test_tools_check_reads_a_top_level_preprocessor(tmp_path, tiny_image_data):
    cfg = _top_level_cfg(tmp_path, tiny_image_data)
    with pytest.raises(ConfigError) as info:
        check_head_classes(cfg, 'cfg.py', ['train_dataloader'])
    message = str(info.value)
    assert message.startswith(
        'cfg.py: model.head.num_classes=2 but '
        'data_preprocessor.num_classes=1000. Set '
        'data_preprocessor.num_classes to 2 too'), message


def test_hook_names_the_top_level_key(tmp_path, tiny_image_data,
                                      clean_loggers):
    """A Runner built without the tools (no early check): the hook names
    the key the config set."""
    cfg = _top_level_cfg(tmp_path, tiny_image_data)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    # The Runner did give the model the top-level preprocessor.
    assert runner.model.data_preprocessor.num_classes == 1000
    with pytest.raises(ConfigError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith('model.head.num_classes=2 but '
                              'data_preprocessor.num_classes=1000.'), message
    assert 'model.data_preprocessor' not in message, message
