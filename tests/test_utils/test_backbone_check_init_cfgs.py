# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``init_cfg`` shapes :mod:`mmadaptformer.utils.backbone_check` reads
that its other tests left out: a list or tuple of them, a ``Pretrained``
one with no checkpoint, an ``init_cfg`` in a list of sub-configs, and the
pretrained forms other than ``type='Pretrained'`` that MMEngine's
``init_weights`` builds from ``WEIGHT_INITIALIZERS`` (the class
``PretrainedInit``, a pure-Python config's, and the scoped name
``'mmengine.Pretrained'``). Each was found by a mutation audit or a
review: the check could skip it and no test failed (a missing file of the
other forms was found only when the Runner initialised the model:
``FileNotFoundError: Checkpoint file not found``, no key)."""
import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG
from mmengine.config import Config
from mmengine.model.weight_init import PretrainedInit

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.backbone_check import (check_init_cfgs,
                                                check_pretrained_files)


def _wrapped_host(init_cfg):
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone.backbone.init_cfg = init_cfg
    return cfg


def _refusal(check, cfg) -> str:
    with pytest.raises(ConfigError) as e:
        check(cfg, 'c.py')
    return str(e.value)


@pytest.mark.parametrize('sequence', [list, tuple])
def test_a_missing_file_in_a_sequence_of_init_cfgs_is_named_by_its_index(
        sequence, tmp_path):
    """MMEngine's ``init_weights`` takes a tuple of init_cfgs as it takes a
    list (and a config file's tuple stays one in the Config)."""
    gone = str(tmp_path / 'gone.pth')
    cfg = _wrapped_host(
        sequence([
            dict(type='TruncNormal', layer='Linear', std=0.02),
            dict(type='Pretrained', checkpoint=gone)
        ]))
    message = _refusal(check_pretrained_files, cfg)
    assert message.startswith(
        'c.py: model.backbone.backbone.init_cfg[1].checkpoint: the '
        f'checkpoint {gone} does not exist;'), message


@pytest.mark.parametrize('pretrained', [
    dict(type='Pretrained', checkpoint=None),
    dict(type='Pretrained', prefix='backbone.'),
])
def test_a_pretrained_init_cfg_without_a_checkpoint_is_a_placeholder(
        pretrained):
    cfg = _wrapped_host(pretrained)
    message = _refusal(check_pretrained_files, cfg)
    assert message.startswith(
        'c.py: model.backbone.backbone.init_cfg.checkpoint: the pretrained '
        'checkpoint is None, a placeholder to fill in'), message


def test_an_init_cfg_without_a_type_in_a_list_is_named_by_its_index():
    cfg = _wrapped_host([
        dict(type='TruncNormal', layer='Linear', std=0.02),
        dict(checkpoint='vit.pth')
    ])
    message = _refusal(check_init_cfgs, cfg)
    assert message.startswith(
        'c.py: model.backbone.backbone.init_cfg[1]: '
        'model.backbone.backbone.init_cfg[1] has no type'), message
    # The fix it gives is an option, which names list items with dots.
    assert "e.g. model.backbone.backbone.init_cfg.1=dict(type='Pretrained'" \
        in message, message


def test_an_init_cfg_in_a_list_of_sub_configs_is_read():
    """mmpretrain's ViT builds each block from ``layer_cfgs[i]``, which
    takes an ``init_cfg`` of its own."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone.layer_cfgs = [dict(init_cfg=dict(layer='Linear'))]
    message = _refusal(check_init_cfgs, cfg)
    assert message.startswith(
        'c.py: model.backbone.layer_cfgs[0].init_cfg: '
        'model.backbone.layer_cfgs[0].init_cfg has no type'), message


def test_an_init_cfg_an_option_made_in_a_list_is_named_by_the_option():
    """An option's ``0`` is a list index or, where the config has no list
    (MMEngine then makes a dict keyed ``'0'``), a dict key; the option was
    looked up as ``layer_cfgs[0]`` only, so the refusal named the config
    file, which has no such key."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    options = {'model.backbone.layer_cfgs.0.init_cfg.layer': 'Linear'}
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as e:
        check_init_cfgs(cfg, 'c.py', options)
    assert str(e.value).startswith(
        "--cfg-options model.backbone.layer_cfgs.0.init_cfg.layer='Linear': "
        'model.backbone.layer_cfgs.0.init_cfg has no type'), e.value


@pytest.mark.parametrize('kind', [PretrainedInit, 'mmengine.Pretrained'])
def test_every_form_of_the_pretrained_initialiser_is_checked(kind):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone.init_cfg = [
        dict(type='TruncNormal', layer='Linear', std=0.02),
        dict(type=kind, checkpoint='gone.pth')
    ]
    message = _refusal(check_pretrained_files, cfg)
    assert message.startswith(
        'c.py: model.backbone.init_cfg[1].checkpoint: the checkpoint '
        'gone.pth does not exist;'), message


def test_other_initialisers_and_unknown_types_are_left():
    """Guard of kept behaviour: only the pretrained initialiser names a
    file; a type no registry holds is left to MMEngine to refuse."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone.init_cfg = [
        dict(type='TruncNormal', layer='Linear', checkpoint='gone.pth'),
        dict(type='PretrainedInit', checkpoint='gone.pth'),
        dict(type=None, checkpoint='gone.pth'),
    ]
    check_pretrained_files(cfg, 'c.py')
