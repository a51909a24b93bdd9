# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint whose head was trained for another number of classes is
named as a ``num_classes`` mismatch (the keys, both shapes, the config key
and both numbers), through tools/test.py, the inference API and
check_state_dict; it said "probably saved from another architecture (other
depth, embed dims or number of classes)". With other keys at fault too,
the architecture stays the cause and the head is named apart, first."""
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, run_tool, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_state_dict)

VIDEO_HEAD = ('its head was trained for another number of classes: '
              'num_classes (model.cls_head.num_classes): checkpoint 3, this '
              'model 2 (cls_head.fc_cls.weight: (3, 64) vs (2, 64), '
              'cls_head.fc_cls.bias: (3,) vs (2,)). Build the model with '
              'model.cls_head.num_classes=3 to use its head as trained.')


def _model(base, scope, **overrides):
    cfg = Config.fromfile(base)
    cfg.merge_from_dict(overrides)
    init_default_scope(scope)
    return MODELS.build(cfg.model)


def _save(path, model):
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, str(path))
    return str(path)


def test_tools_test_names_a_head_of_other_classes(tmp_path, tiny_video_data):
    ckpt = _save(
        tmp_path / 'three.pth',
        _model(TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction',
               **{'model.cls_head.num_classes': 3}))
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    proc = run_tool(['test.py', cfg, ckpt, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert f'StateDictMismatchError: {ckpt} does not fit the model: ' \
        f'{VIDEO_HEAD}' in out, out[-3000:]
    assert 'another architecture' not in out
    assert 'Epoch(test)' not in out


def test_the_inference_api_names_a_head_of_other_classes(tmp_path):
    from mmadaptformer.apis import init_model
    ckpt = _save(
        tmp_path / 'three.pth',
        _model(TINY_VIDEO_CONFIG, 'mmaction',
               **{'model.cls_head.num_classes': 3}))
    with pytest.raises(StateDictMismatchError) as info:
        init_model(TINY_VIDEO_CONFIG, ckpt)
    text = str(info.value)
    assert text.startswith(f'{ckpt} (config {TINY_VIDEO_CONFIG}) does not '
                           f'fit the model: {VIDEO_HEAD}'), text
    assert 'another architecture' not in text


def test_an_mmpretrain_head_of_other_classes_is_named():
    state = _model(TINY_IMAGE_CONFIG, 'mmpretrain', **{
        'model.head.num_classes': 5
    }).state_dict()
    model = _model(TINY_IMAGE_CONFIG, 'mmpretrain')
    with pytest.raises(StateDictMismatchError) as info:
        check_state_dict(model, state, 'five.pth')
    assert str(info.value) == (
        'five.pth does not fit the model: its head was trained for another '
        'number of classes: num_classes (model.head.num_classes): '
        'checkpoint 5, this model 2 (head.fc.weight: (5, 64) vs (2, 64), '
        'head.fc.bias: (5,) vs (2,)). Build the model with '
        'model.head.num_classes=5 to use its head as trained. Nothing of it '
        'was loaded.')
    # A module checked alone (a backbone's init_cfg) has no head config
    # key: another width is another architecture.
    state = _model(TINY_IMAGE_CONFIG, 'mmpretrain', **{
        'model.backbone.arch.embed_dims': 96
    }).backbone.state_dict()
    with pytest.raises(StateDictMismatchError) as info:
        check_state_dict(model.backbone, state, 'wide.pth')
    assert 'another architecture' in str(info.value)
    assert 'num_classes' not in str(info.value)


def test_other_depth_and_classes_name_the_head_apart():
    state = _model(
        TINY_IMAGE_CONFIG, 'mmpretrain', **{
            'model.head.num_classes': 5,
            'model.backbone.arch.num_layers': 3
        }).state_dict()
    model = _model(TINY_IMAGE_CONFIG, 'mmpretrain')
    with pytest.raises(StateDictMismatchError) as info:
        check_state_dict(model, state, 'deeper.pth')
    lines = str(info.value).splitlines()
    assert lines[0].startswith('deeper.pth does not fit the model: it was '
                               'probably saved from another architecture')
    assert lines[1] == (
        'Its head was trained for another number of classes too: '
        'num_classes (model.head.num_classes): checkpoint 5, this model 2 '
        '(head.fc.weight: (5, 64) vs (2, 64), head.fc.bias: (5,) vs (2,)).')
    assert '  head.fc.weight: (5, 64) vs (2, 64)' in lines
    assert any('unexpected keys' in line and 'backbone.layers.2.' in line
               for line in lines)
