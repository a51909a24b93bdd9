# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`~mmadaptformer.utils.preprocessor_check.check_shadowed_preprocessor`:
a ``model.data_preprocessor`` written to set the number of classes of an
MMPretrain config (whose preprocessor is the top-level one) replaced it
whole, and the model trained and predicted on raw pixels without its mean
and std, without a word."""
import pytest
from config_writers import image_data_cfg, write_config
from mmengine.config import Config
from refusal_lines import refused_line
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.preprocessor_check import check_shadowed_preprocessor

_MEAN_STD = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])

#: The tiny image config with its preprocessor at the top level, as
#: MMPretrain's configs give it.
_TOP_LEVEL = f"""
model = dict(data_preprocessor=dict(_delete_=True))
data_preprocessor = dict(num_classes=2, to_rgb=True, **{_MEAN_STD!r})
"""


def test_a_model_preprocessor_without_mean_and_std_is_refused():
    cfg = Config(
        dict(
            model=dict(data_preprocessor=dict(num_classes=2)),
            data_preprocessor=dict(num_classes=1000, to_rgb=True,
                                   **_MEAN_STD)))
    with pytest.raises(ConfigError) as info:
        check_shadowed_preprocessor(cfg, 'cfg.py', None)
    message = str(info.value)
    assert message.startswith(
        "cfg.py: model.data_preprocessor = {'num_classes': 2}: it replaces "
        'the top-level data_preprocessor whole'), message
    assert 'without its mean, std, to_rgb' in message, message
    assert 'data_preprocessor = dict(num_classes=2)' in message, message


@pytest.mark.parametrize(
    'cfg',
    [
        # The tiny configs' and the recipes': the model's own, complete.
        dict(model=dict(data_preprocessor=dict(num_classes=2, **_MEAN_STD))),
        # MMPretrain's: the top-level one alone.
        dict(model=dict(), data_preprocessor=dict(num_classes=2, **_MEAN_STD)),
        # Both, the model's normalising too.
        dict(
            model=dict(data_preprocessor=dict(num_classes=2, **_MEAN_STD)),
            data_preprocessor=dict(num_classes=1000, **_MEAN_STD)),
        # A top-level one that does not normalise.
        dict(
            model=dict(data_preprocessor=dict(num_classes=2)),
            data_preprocessor=dict(num_classes=1000)),
    ])
def test_configs_that_keep_their_normalisation_pass(cfg):
    """Guard of kept behaviour."""
    check_shadowed_preprocessor(Config(cfg), 'cfg.py', None)


def test_train_refuses_the_option_before_the_work_dir(tmp_path,
                                                      tiny_image_data):
    path = write_config(tmp_path / 'top.py', TINY_IMAGE_CONFIG,
                        image_data_cfg(tiny_image_data) + _TOP_LEVEL)
    # ``_delete_`` alone leaves an empty dict: drop it, as MMPretrain's
    # configs name no model preprocessor.
    cfg = Config.fromfile(path)
    cfg.model.pop('data_preprocessor')
    cfg.dump(str(tmp_path / 'mmpretrain_like.py'))
    work = tmp_path / 'work'
    proc = run_tool([
        'train.py',
        str(tmp_path / 'mmpretrain_like.py'), '--work-dir', work,
        '--cfg-options', 'model.data_preprocessor.num_classes=2'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=str(work))
    assert line.startswith(
        'ConfigError: --cfg-options model.data_preprocessor.num_classes=2: '
        'it replaces the top-level data_preprocessor whole'), line
