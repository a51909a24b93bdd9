# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A host that loads the weights it names itself (Swin3D's ``pretrained``,
with or without 2D inflation) under AdaptFormer: they count as loaded and
are named, so AdapterHook does not refuse the backbone as random and an
adapter-only checkpoint records them."""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.models import AdaptFormer, FrozenBackboneMismatchError
from mmadaptformer.models.backbones.frozen_host_record import (
    frozen_host_entry, verify_frozen_host)
from mmadaptformer.utils.fingerprint import state_fingerprints

SWIN3D = dict(
    type='SwinTransformer3D',
    arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
    window_size=(2, 4, 4),
    drop_path_rate=0.,
    pretrained2d=False)


def test_weights_a_host_loads_itself_count_as_loaded(tmp_path):
    init_default_scope('mmaction')
    torch.manual_seed(0)
    stock = MODELS.build(SWIN3D)
    stock.init_weights()
    path = str(tmp_path / 'swin3d.pth')
    torch.save({'state_dict': stock.state_dict()}, path)

    torch.manual_seed(1)
    model = AdaptFormer(backbone=dict(SWIN3D, pretrained=path))
    model.init_weights()
    # AdapterHook refuses a wrapper whose host_source is None as random.
    assert model.host_source == path
    assert model.pretrained_key == 'model.backbone.backbone.pretrained'
    state = model.backbone.state_dict()
    for key, value in stock.state_dict().items():
        assert torch.equal(state[key], value), key
    # The Pretrained entry Swin3D set itself is not left behind.
    assert model.backbone.init_cfg is None or 'checkpoint' not in str(
        model.backbone.init_cfg)

    # Adapters trained on it record it; on a random backbone the error
    # names it and the config key that sets it.
    entry = frozen_host_entry(
        model,
        state_fingerprints((k, v)
                           for k, v in model.backbone.state_dict().items()
                           if k in set(model.host_keys)))
    assert entry['pretrained'] == path
    random = AdaptFormer(backbone=SWIN3D)
    random.init_weights()
    assert random.host_source is None
    with pytest.raises(FrozenBackboneMismatchError) as info:
        verify_frozen_host(random, entry)
    assert f'The adapters were trained on {path}.' in str(info.value)
