# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A wrapper's key written inside the stock backbone it wraps
(``model.backbone.backbone.adapter``) is refused with the key to write,
one level up. It was ``VisionTransformer takes no argument 'adapter'``,
naming neither the wrapper nor where the key belongs."""
import pytest
from config_writers import write_config
from mmengine.config import Config
from repo_paths import (TINY_ADAPTFORMER_IMAGE_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG)

from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils import ConfigError


@pytest.mark.parametrize('base, body, key', [
    (TINY_ADAPTFORMER_IMAGE_CONFIG, 'adapter=dict(bottleneck=8)', 'adapter'),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, 'layers=[0]', 'layers'),
])
def test_wrapper_key_inside_the_wrapped_backbone_says_one_level_up(
        tmp_path, base, body, key):
    config = write_config(
        tmp_path / 'cfg.py', base,
        f'model = dict(backbone=dict(backbone=dict({body})))\n')
    with pytest.raises(ConfigError) as info:
        check_model_config(Config.fromfile(config), config)
    message = str(info.value)
    assert message.startswith(f'{config}:')
    assert (
        f'model.backbone.backbone.{key}: VisionTransformer takes no '
        f'argument {key!r}: it is an argument of the AdaptFormer '
        'wrapper (model.backbone), not of the stock backbone it wraps '
        '(model.backbone.backbone). Write it one level up: '
        f'model.backbone.{key}, beside model.backbone.backbone.') in message


def test_option_inside_the_wrapped_backbone_is_named():
    cfg = Config.fromfile(TINY_ADAPTFORMER_IMAGE_CONFIG)
    options = {'model.backbone.backbone.adapter': dict(bottleneck=8)}
    cfg.merge_from_dict(options)
    with pytest.raises(
            ConfigError,
            match=r'^--cfg-options model\.backbone\.backbone\.adapter=.*: '
            r"VisionTransformer takes no argument 'adapter': it is an "
            r'argument of the AdaptFormer wrapper \(model\.backbone\)'):
        check_model_config(cfg, TINY_ADAPTFORMER_IMAGE_CONFIG, options)


def test_the_hosts_own_argument_of_that_name_is_left_alone(tmp_path):
    """Guard of kept behaviour: a key the stock backbone takes itself is
    its own, even where the wrapper has a key of that name (mmaction2's
    Swin3D takes ``with_cp``, as AdaptFormer does)."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        'model = dict(backbone=dict(backbone=dict(_delete_=True, '
        "type='SwinTransformer3D', arch='tiny', pretrained2d=False, "
        'with_cp=True)), cls_head=dict(in_channels=768))\n')
    check_model_config(Config.fromfile(config), config)
