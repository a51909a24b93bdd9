# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which ``LoadImageFromFile`` arguments
:func:`~mmadaptformer.utils.image_loading_agreement.image_loading_ignored`
names: each one mmpretrain's inferencers drop (every step of that type in
``test_dataloader.dataset.pipeline``, as its ``remove_transform`` finds
them), none at their defaults."""
from mmengine.config import Config

from mmadaptformer.utils.image_loading_agreement import (
    image_loading_ignored, warn_image_loading_ignored)


def _cfg(*steps):
    return Config(
        dict(test_dataloader=dict(dataset=dict(pipeline=list(steps)))))


def test_names_every_argument_other_than_its_default():
    message = image_loading_ignored(
        _cfg(
            dict(
                type='LoadImageFromFile',
                to_float32=True,
                imdecode_backend='pillow',
                color_type='color',
                _scope_='mmpretrain'), dict(type='PackInputs')), 'cfg.py')
    assert message.startswith('cfg.py: '), message
    assert ('test_dataloader.dataset.pipeline[0] LoadImageFromFile('
            "to_float32=True, imdecode_backend='pillow')") in message, message


def test_defaults_and_other_steps_are_not_named():
    assert image_loading_ignored(
        _cfg(
            dict(type='LoadImageFromFile', ignore_empty=False),
            dict(type='ResizeEdge', scale=32, interpolation='bicubic')),
        'cfg.py') is None
    assert image_loading_ignored(Config(dict(model=dict())), 'cfg.py') is None


def test_warned_once_per_config(log_records):
    cfg = _cfg(dict(type='LoadImageFromFile', color_type='unchanged'))
    assert warn_image_loading_ignored(cfg, 'once.py')
    assert not warn_image_loading_ignored(cfg, 'once.py')
    said = [r.getMessage() for r in log_records]
    assert len([m for m in said if m.startswith('once.py: ')]) == 1, said


def test_configs_without_a_file_are_each_said(log_records):
    """Configs built in memory are all named 'the config': keyed by that
    name, the first one's warning silenced every other's, though they
    drop other arguments."""
    gray = _cfg(dict(type='LoadImageFromFile', color_type='grayscale'))
    pillow = _cfg(dict(type='LoadImageFromFile', imdecode_backend='pillow'))
    assert warn_image_loading_ignored(gray, 'the config')
    assert warn_image_loading_ignored(pillow, 'the config')
    assert not warn_image_loading_ignored(pillow, 'the config')
