# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The config entry that built a hook is found by the class its ``type``
builds, looked up as the Runner looked it up (the entry's scope, else the
runner's), not by the type name's last part.

mmaction2 and mmpretrain each register a ``VisualizationHook`` of their
own. With one of each in a config (``'mmaction.VisualizationHook'`` beside
the image runner's own), both entries ended in ``VisualizationHook``, so
each hook was taken for one of two entries of its type: no key was named
for either, and each was said to be one of "2 VisualizationHook hooks ...
registered or removed outside the config".
"""
import pytest
from config_writers import config_runner
from helpers import TINY_IMAGE_CONFIG, image_data_cfg
from mmaction.engine.hooks import VisualizationHook as MMActionVisualization
from mmpretrain.engine.hooks import \
    VisualizationHook as MMPretrainVisualization

from mmadaptformer.engine import hook_config_key, hook_origin


@pytest.fixture
def runner(tmp_path, tiny_image_data, clean_loggers):
    # The image recipes' default_scope is mmpretrain: 'VisualizationHook'
    # is mmpretrain's, the dotted one mmaction's.
    return config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "default_hooks = dict(visualization=dict(type='VisualizationHook'))\n"
        "custom_hooks = [dict(type='mmaction.VisualizationHook')]\n")


def _hook(runner, cls):
    found = [h for h in runner.hooks if type(h) is cls]
    assert len(found) == 1, runner.hooks
    return found[0]


def test_hooks_of_one_name_in_two_scopes_keep_their_keys(runner):
    assert MMActionVisualization is not MMPretrainVisualization
    own = _hook(runner, MMPretrainVisualization)
    dotted = _hook(runner, MMActionVisualization)
    assert hook_config_key(runner, own) == 'default_hooks.visualization'
    assert hook_config_key(runner, dotted) == 'custom_hooks[0]'
    assert hook_origin(runner, dotted) == 'custom_hooks[0]'
