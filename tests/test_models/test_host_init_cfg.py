# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``init_cfg`` a host's constructor cannot take.

mmaction2's MViT calls ``init_cfg.copy()`` in its constructor, so the
``init_cfg=None`` that the tiny configs give their host failed with
``AttributeError: 'NoneType' object has no attribute 'copy'``;
mmaction2's TimeSformer, a plain ``nn.Module``, takes no ``init_cfg``.
A plain MViT failed with that traceback after the work dir was made, a
plain TimeSformer was refused after it; both are refused before it now.
:func:`host_build_cfg` is what a wrapper builds its host from.
"""

import pytest
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.models.backbones.host_init import (
    host_build_cfg, plain_host_init_cfg_problem, takes_init_cfg)

TINY_MVIT = dict(
    type='mmaction.MViT',
    arch=dict(embed_dims=16, num_layers=2, num_heads=1, downscale_indices=[1]),
    spatial_size=32,
    temporal_size=4)
TINY_TIMESFORMER = dict(
    type='mmaction.TimeSformer',
    num_frames=4,
    img_size=32,
    patch_size=16,
    embed_dims=32,
    num_heads=2,
    num_transformer_layers=1)
PRETRAINED = dict(type='Pretrained', checkpoint='host.pth')


def _cls(cfg: dict) -> type:
    init_default_scope('mmaction')
    return MODELS.get(cfg['type'])


def test_mvit_init_cfg_none_is_left_out_and_builds():
    cls = _cls(TINY_MVIT)
    with pytest.raises(AttributeError, match="has no attribute 'copy'"):
        MODELS.build(dict(TINY_MVIT, init_cfg=None))
    cfg, later = host_build_cfg(cls, dict(TINY_MVIT, init_cfg=None))
    assert 'init_cfg' not in cfg and later is None
    host = MODELS.build(cfg)
    # MViT's own default init, not none at all.
    assert [one['type'] for one in host.init_cfg
            ] == ['TruncNormal', 'TruncNormal', 'Constant']


def test_mvit_and_others_keep_an_init_cfg_they_take():
    """Guard of kept behaviour: a host that takes the init_cfg gets it."""
    cfg, later = host_build_cfg(
        _cls(TINY_MVIT), dict(TINY_MVIT, init_cfg=PRETRAINED))
    assert cfg['init_cfg'] == PRETRAINED and later is None
    vit = MODELS.get('mmpretrain.VisionTransformer')
    cfg, later = host_build_cfg(vit, dict(type=vit, init_cfg=None))
    assert cfg['init_cfg'] is None and later is None


@pytest.mark.parametrize('init_cfg', [None, PRETRAINED])
def test_timesformer_is_built_without_init_cfg(init_cfg):
    cls = _cls(TINY_TIMESFORMER)
    assert not takes_init_cfg(cls)
    cfg, later = host_build_cfg(cls, dict(TINY_TIMESFORMER, init_cfg=init_cfg))
    assert 'init_cfg' not in cfg and later == init_cfg
    MODELS.build(cfg)


def test_plain_host_problems_name_what_to_write():
    mvit, timesformer = _cls(TINY_MVIT), _cls(TINY_TIMESFORMER)
    line = plain_host_init_cfg_problem(mvit, dict(init_cfg=None),
                                       'model.backbone')
    assert line.startswith("mmaction2's MViT copies its init_cfg"), line
    assert 'leave init_cfg out for its own default init' in line, line
    assert plain_host_init_cfg_problem(mvit, dict(init_cfg=PRETRAINED),
                                       'model.backbone') is None
    assert plain_host_init_cfg_problem(mvit, {}, 'model.backbone') is None
    line = plain_host_init_cfg_problem(timesformer, dict(init_cfg=None),
                                       'model.backbone')
    assert "mmaction2's TimeSformer is a plain nn.Module" in line, line
    assert 'model.backbone.pretrained=FILE' in line, line
    assert plain_host_init_cfg_problem(timesformer, {},
                                       'model.backbone') is None


@pytest.mark.parametrize('host', [TINY_MVIT, TINY_TIMESFORMER])
def test_wrapper_builds_host_with_init_cfg_none(host):
    """A wrapped MViT or TimeSformer with the tiny configs' init_cfg=None
    builds and initialises."""
    from mmadaptformer.models import AdaptFormer
    init_default_scope('mmaction')
    wrapper = AdaptFormer(
        backbone=dict(host, init_cfg=None), adapter=dict(bottleneck=4))
    wrapper.init_weights()
    assert wrapper.host_initialized
