# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``layers``, ``placement`` or ``block_types`` written inside ``adapter``
is refused naming where it belongs, beside ``adapter``. It listed the
adapter's keys only, and the user was left to guess where ``layers``
goes."""
import pytest
from mmpretrain.models import VisionTransformer

from mmadaptformer.models import inject_adapters
from mmadaptformer.utils import ConfigError


def _vit():
    return VisionTransformer(
        arch=dict(
            embed_dims=64, num_layers=2, num_heads=2,
            feedforward_channels=128),
        img_size=32,
        patch_size=16)


@pytest.mark.parametrize('key, value', [('layers', [0]),
                                        ('placement', 'sequential')])
def test_a_wrapper_setting_inside_adapter_names_its_place(key, value):
    vit = _vit()
    with pytest.raises(ConfigError) as info:
        inject_adapters(vit, adapter={'bottleneck': 8, key: value})
    assert str(info.value) == (
        f"model.backbone.adapter has unknown keys ['{key}']; the accepted "
        "keys are ['bottleneck', 'scale', 'dropout', 'norm', 'init']. "
        f'{key} is a setting of model.backbone itself, beside adapter: '
        f'write model.backbone.{key}.')
    # Refused before anything was injected.
    assert not any('adaptmlp' in name for name, _ in vit.named_modules())


def test_a_misspelt_adapter_key_gets_no_such_line():
    """Guard of kept behaviour: a key of no setting is listed alone."""
    with pytest.raises(ConfigError) as info:
        inject_adapters(_vit(), adapter=dict(bottleneck=8, scales=0.1))
    assert str(info.value) == (
        "model.backbone.adapter has unknown keys ['scales']; the accepted "
        "keys are ['bottleneck', 'scale', 'dropout', 'norm', 'init'].")
