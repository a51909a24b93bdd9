# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every form of MMEngine's pretrained initialiser counts as one.

``BaseModule.init_weights`` builds an ``init_cfg`` entry from
``WEIGHT_INITIALIZERS``, so ``type='Pretrained'``, the scoped name
``'mmengine.Pretrained'`` and the class ``PretrainedInit`` (a pure-Python
config's) all load the checkpoint. :func:`is_pretrained_cfg` is the one
predicate of the config checks, the benchmark and the wrappers; it knew
only the first and the class, so a wrapper with the scoped name had the
host load the file itself and recorded no source for it.
"""
import pytest
import torch
from mmengine.model.weight_init import PretrainedInit
from mmengine.registry import MODELS

from mmadaptformer.models import AdaptFormer
from mmadaptformer.utils.pretrained_init import is_pretrained_cfg

HOST = dict(
    type='mmpretrain.VisionTransformer',
    arch='deit-tiny',
    img_size=32,
    patch_size=16)


@pytest.mark.parametrize('kind, expected', [('Pretrained', True),
                                            ('mmengine.Pretrained', True),
                                            (PretrainedInit, True),
                                            ('PretrainedInit', False),
                                            ('TruncNormal', False),
                                            (None, False)])
def test_the_forms_that_build_the_pretrained_initialiser(kind, expected):
    assert is_pretrained_cfg(dict(type=kind, checkpoint='x.pth')) is expected
    assert not is_pretrained_cfg('Pretrained')


@pytest.mark.parametrize('kind', ['mmengine.Pretrained', PretrainedInit])
def test_a_wrapper_loads_its_host_from_every_form(tmp_path, kind):
    source = MODELS.build(HOST).state_dict()
    path = str(tmp_path / 'host.pth')
    torch.save(source, path)
    model = AdaptFormer(
        backbone=dict(HOST, init_cfg=dict(type=kind, checkpoint=path)))
    model.init_weights()
    assert model.host_source == path
    loaded = model.backbone.state_dict()
    torch.testing.assert_close({k: loaded[k] for k in source}, source)
