# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A wrapper's key given to an unwrapped backbone is refused with the
lines that wrap it, and one written inside the stock backbone a wrapper
wraps (``model.backbone.backbone.adapter``) with the key to write one level
up (both were ``VisionTransformer takes no argument 'adapter'``, naming no
wrapper)."""
import pytest
from config_writers import write_config
from mmengine.config import Config
from repo_paths import (TINY_ADAPTFORMER_IMAGE_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                        TINY_VIDEO_CONFIG)

from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils import ConfigError


@pytest.mark.parametrize('base, body, key, wrapper', [
    (TINY_IMAGE_CONFIG, 'adapter=dict(bottleneck=8)', 'adapter',
     'AdaptFormer'),
    (TINY_VIDEO_CONFIG, 'num_prompts=4', 'num_prompts', 'VPT'),
])
def test_wrapper_key_on_a_stock_backbone_says_to_wrap(tmp_path, base, body,
                                                      key, wrapper):
    config = write_config(tmp_path / 'cfg.py', base,
                          f'model = dict(backbone=dict({body}))\n')
    with pytest.raises(ConfigError) as info:
        check_model_config(Config.fromfile(config), config)
    assert str(info.value).startswith(
        f'{config}: model.backbone.{key}: VisionTransformer takes no '
        f'argument {key!r}: it is an argument of the {wrapper} wrapper, and '
        'model.backbone is not wrapped. Wrap the stock backbone, as the '
        'README\'s "Writing your own config" does: model = dict(backbone='
        f"dict(_delete_=True, type='{wrapper}', backbone="
        f'{{{{_base_.model.backbone}}}}, {key}=...)), with custom_hooks')


def test_option_is_named():
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    options = {'model.backbone.adapter': dict(bottleneck=8)}
    cfg.merge_from_dict(options)
    with pytest.raises(
            ConfigError,
            match=r'^--cfg-options model\.backbone\.adapter=.*: '
            r"VisionTransformer takes no argument 'adapter': it is an "
            'argument of the AdaptFormer wrapper'):
        check_model_config(cfg, TINY_IMAGE_CONFIG, options)


def test_a_third_wrapper_on_the_shared_base_is_named(tmp_path):
    """The wrappers whose keys a stock backbone is checked for are the
    registered subclasses of the shared base: a third one was missed (the
    list named AdaptFormer and VPT), and its key reached the stock
    backbone's constructor."""
    from mmpretrain.registry import MODELS

    from mmadaptformer.models import FrozenHostWrapper

    class RankWrapper(FrozenHostWrapper):

        def __init__(self, backbone, rank=4, init_cfg=None):
            super().__init__(backbone, init_cfg=init_cfg)

    MODELS.register_module(module=RankWrapper)
    try:
        config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                              'model = dict(backbone=dict(rank=8))\n')
        with pytest.raises(
                ConfigError,
                match="takes no argument 'rank': it is an argument of the "
                'RankWrapper wrapper'):
            check_model_config(Config.fromfile(config), config)
    finally:
        MODELS.module_dict.pop('RankWrapper')


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
