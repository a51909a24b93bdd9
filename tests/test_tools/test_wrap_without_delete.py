# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The README's diff copied without ``_delete_=True``: MMEngine merges the
wrapper dict into the stock config's ``model.backbone``, so the wrapper gets
the stock backbone's keys too. The refusal said only that AdaptFormer does
not take them; now it says where they came from and the line to write."""
import pytest
from helpers import (TINY_VIDEO_CONFIG, VIDEO_HOST, run_tool, video_data_cfg,
                     write_config)
from mmengine.registry import MODELS, init_default_scope
from refusal_lines import refused_line

from mmadaptformer.utils import ConfigError

WRAP_WITHOUT_DELETE = """
model = dict(
    backbone=dict(
        type='AdaptFormer',
        backbone={{_base_.model.backbone}},
        adapter=dict(bottleneck=8, scale=0.1)))
custom_hooks = [dict(type='AdapterHook', adapter_only_checkpoint=True)]
"""


def test_train_names_the_missing_delete_before_work_dir(
        tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'no_delete.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + WRAP_WITHOUT_DELETE)
    work = tmp_path / 'work'
    proc = run_tool(['train.py', config, '--work-dir', work],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=str(work))
    assert 'no_delete.py: AdaptFormer does not take the config key ' \
        'model.backbone.img_size' in line, line
    assert 'also in model.backbone.backbone, with the same values' in line
    assert 'lacks _delete_=True' in line, line
    assert "model = dict(backbone=dict(_delete_=True, type='AdaptFormer', " \
        'backbone={{_base_.model.backbone}}, ...))' in line, line


def test_key_of_another_value_gets_no_delete_hint():
    """Guard: a key the stock backbone does not hold with that value was
    written at the wrong level by hand, not merged: the usual advice only
    (kept behaviour)."""
    init_default_scope('mmaction')
    with pytest.raises(ConfigError) as info:
        MODELS.build(
            dict(type='AdaptFormer', backbone=dict(VIDEO_HOST), depth=4))
    message = str(info.value)
    assert 'model.backbone.depth' in message, message
    assert '_delete_' not in message, message
    assert 'belongs under model.backbone.backbone' in message, message


def test_type_changed_by_cfg_options_says_to_nest_in_a_file(
        tmp_path, tiny_video_data):
    """``--cfg-options model.backbone.type=AdaptFormer`` on a stock config
    leaves the stock settings beside the wrapper's arguments: no option can
    nest them under ``backbone``; the refusal says so."""
    config = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    work = tmp_path / 'work'
    proc = run_tool([
        'train.py', config, '--work-dir', work, '--cfg-options',
        'model.backbone.type=AdaptFormer'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=str(work))
    assert line.startswith('ConfigError: --cfg-options model.backbone.type='
                           "'AdaptFormer': AdaptFormer does not take the "
                           'config key model.backbone.img_size'), line
    assert 'model.backbone has no backbone: it holds the stock ' \
        "backbone's own settings" in line, line
    assert "model = dict(backbone=dict(_delete_=True, type='AdaptFormer', " \
        'backbone={{_base_.model.backbone}}, ...)) in a config file' in line


def test_flat_wrapper_dict_says_to_nest():
    """The stock settings written beside ``type='AdaptFormer'`` in a file:
    the same advice."""
    init_default_scope('mmaction')
    host = dict(VIDEO_HOST)
    host.pop('type')
    with pytest.raises(ConfigError) as info:
        MODELS.build(
            dict(type='AdaptFormer', adapter=dict(bottleneck=8), **host))
    message = str(info.value)
    assert 'model.backbone has no backbone' in message, message
    assert '_delete_=True' in message, message
