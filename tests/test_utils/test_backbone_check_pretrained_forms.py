# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The pretrained ``init_cfg`` forms other than ``type='Pretrained'`` that
MMEngine's ``init_weights`` builds from ``WEIGHT_INITIALIZERS``: the class
``PretrainedInit`` (a pure-Python config's) and the scoped name
``'mmengine.Pretrained'``. The check read only ``'Pretrained'``, so a
missing file of these was found when the Runner initialised the model
(``FileNotFoundError: Checkpoint file not found``, no key)."""
import pytest
from helpers import TINY_IMAGE_CONFIG
from mmengine.config import Config
from mmengine.model.weight_init import PretrainedInit

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.backbone_check import check_pretrained_files


@pytest.mark.parametrize('kind', [PretrainedInit, 'mmengine.Pretrained'])
def test_every_form_of_the_pretrained_initialiser_is_checked(kind):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone.init_cfg = [
        dict(type='TruncNormal', layer='Linear', std=0.02),
        dict(type=kind, checkpoint='gone.pth')
    ]
    with pytest.raises(ConfigError) as e:
        check_pretrained_files(cfg, 'c.py')
    assert str(e.value).startswith(
        'c.py: model.backbone.init_cfg[1].checkpoint: the checkpoint '
        'gone.pth does not exist;'), str(e.value)


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
