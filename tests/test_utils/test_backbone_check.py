# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which backbone arguments and pretrained files
:mod:`mmadaptformer.utils.backbone_check` refuses, and which it leaves."""
import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG
from mmaction.registry import MODELS
from mmengine.config import Config

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.backbone_check import (check_backbone_arguments,
                                                check_pretrained_files,
                                                dropped_backbone_arguments)

# mmaction2's VideoMAE ViT (importing mmaction.models needs mmadaptformer's
# gap-closing import first).
VisionTransformer = MODELS.get('mmaction.VisionTransformer')


class UsesItsKwargs(VisionTransformer):
    """A user's subclass, which may read what the stock one drops."""

    def __init__(self, my_option=None, **kwargs):
        super().__init__(**kwargs)
        self.my_option = my_option


def test_the_videomae_vit_and_its_own_subclasses_are_read():
    dropped, takes = dropped_backbone_arguments(
        dict(type='VisionTransformer', depth=2, num_head=4), VisionTransformer)
    assert dropped == ['num_head'] and 'num_heads' in takes
    assert dropped_backbone_arguments(
        dict(my_option=1, num_head=4), UsesItsKwargs) == ([], [])


def test_a_user_subclass_of_the_videomae_vit_is_not_checked():
    MODELS.register_module(module=UsesItsKwargs, force=True)
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone.backbone.type = 'UsesItsKwargs'
    cfg.model.backbone.backbone.my_option = 1
    check_backbone_arguments(cfg, 'c.py')


def test_a_dropped_argument_of_the_wrapped_host_is_named():
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone.backbone.drop_path_rat = 0.3
    with pytest.raises(ConfigError) as e:
        check_backbone_arguments(cfg, 'c.py')
    assert str(e.value).startswith(
        'c.py: model.backbone.backbone.drop_path_rat: VisionTransformer '
        "takes no argument 'drop_path_rat' (did you mean 'drop_path_rate'")


def test_mmpretrain_vit_is_left_to_refuse_itself():
    """mmpretrain's ViT takes no **kwargs: building it names the key."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone.img_sise = 32
    check_backbone_arguments(cfg, 'c.py')


@pytest.mark.parametrize('checkpoint, problem', [
    ('gone.pth', 'the checkpoint gone.pth does not exist;'),
    ('', "the pretrained checkpoint is '', a placeholder to fill in"),
])
def test_a_pretrained_file_that_is_not_there_is_named(checkpoint, problem):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=checkpoint)
    with pytest.raises(ConfigError) as e:
        check_pretrained_files(cfg, 'c.py')
    assert str(e.value).startswith(
        f'c.py: model.backbone.init_cfg.checkpoint: {problem}')


def test_an_address_and_an_empty_pretrained_path_are_left(tmp_path):
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    host = cfg.model.backbone.backbone
    host.init_cfg = [
        dict(type='TruncNormal', layer='Linear'),
        dict(type='Pretrained', checkpoint='https://example.org/vit.pth')
    ]
    host.pretrained = ''
    check_pretrained_files(cfg, 'c.py')
    host.pretrained = str(tmp_path / 'gone.pth')
    with pytest.raises(
            ConfigError,
            match=r'^c.py: model.backbone.backbone'
            r'.pretrained: the checkpoint .*gone.pth does not'):
        check_pretrained_files(cfg, 'c.py')
