# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The adapters' initialisation survives an enclosing model's ``init_cfg``.

mmpretrain's stock classifier configs (DeiT, Swin V2, ...) give the whole
model ``init_cfg=[TruncNormal(layer='Linear'), Constant(layer='LayerNorm')]``,
which MMEngine applies to every submodule before the backbone's own
``init_weights()``: without the wrapper applying the adapters' init again,
the zero up-projections come out random and training no longer starts from
the pre-trained network.
"""
import pytest
import torch
from mmengine.hub import get_config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from mmadaptformer.models import AdaptMLP, adapter_modules


def _stock_deit_with_adaptformer(init='lora'):
    """mmpretrain's own DeiT-tiny config, edited as the README says."""
    cfg = get_config('mmpretrain::deit/deit-tiny_4xb256_in1k.py')
    assert any(entry['type'] == 'TruncNormal' and entry['layer'] == 'Linear'
               for entry in cfg.model.init_cfg), cfg.model.init_cfg
    backbone = dict(cfg.model.backbone, img_size=32, patch_size=16)
    cfg.model.backbone = dict(
        type='AdaptFormer',
        backbone=backbone,
        adapter=dict(bottleneck=8, scale=0.1, init=init))
    init_default_scope('mmpretrain')
    return MODELS.build(cfg.model)


def test_classifier_init_cfg_leaves_lora_adapters_at_zero():
    torch.manual_seed(0)
    model = _stock_deit_with_adaptformer()
    built = {
        k: v.clone()
        for k, v in model.state_dict().items() if '.adaptmlp.' in k
    }
    model.init_weights()
    adapters = list(adapter_modules(model).values())
    assert len(adapters) == 12
    # The values they were built with, not new draws (a seed's other
    # random numbers stay where they were).
    state = model.state_dict()
    assert len(built) == 12 * 4
    for key, value in built.items():
        assert torch.equal(state[key], value), key
    for adapter in adapters:
        assert torch.count_nonzero(adapter.up_proj.weight) == 0
        assert torch.count_nonzero(adapter.up_proj.bias) == 0
        # Kaiming-uniform (a=sqrt(5)) over 192 inputs: |w| <= 1/sqrt(192).
        assert adapter.down_proj.weight.abs().max() <= 192**-0.5
        assert adapter.down_proj.weight.std() > 0.03
    # A fresh adapter adds exactly zero to its block.
    x = torch.randn(2, 5, 192)
    assert torch.count_nonzero(adapters[0](x)) == 0


def test_trunc_normal_init_is_kept_as_well():
    torch.manual_seed(0)
    model = _stock_deit_with_adaptformer(init='trunc_normal')
    for adapter in adapter_modules(model).values():
        torch.nn.init.zeros_(adapter.up_proj.weight)
    model.init_weights()
    for adapter in adapter_modules(model).values():
        for linear in (adapter.down_proj, adapter.up_proj):
            assert 0.015 < linear.weight.std() < 0.025
            assert linear.weight.abs().max() <= 2.0
            assert torch.count_nonzero(linear.bias) == 0


def test_trunc_normal_matches_the_official_video_init():
    """The official video ViT's ``_init_weights`` over an adapter: timm's
    ``trunc_normal_(std=.02)`` (bounds -2, 2) and zero biases."""
    adapter = AdaptMLP(768, 64, init='trunc_normal')
    torch.manual_seed(3)
    adapter.reset_parameters()
    torch.manual_seed(3)
    down = torch.empty(64, 768)
    up = torch.empty(768, 64)
    torch.nn.init.trunc_normal_(down, std=.02, a=-2., b=2.)
    torch.nn.init.trunc_normal_(up, std=.02, a=-2., b=2.)
    assert torch.equal(adapter.down_proj.weight, down)
    assert torch.equal(adapter.up_proj.weight, up)
    assert 'init=\'trunc_normal\'' in repr(adapter)


def test_unknown_init_is_refused():
    with pytest.raises(
            ValueError,
            match=r"AdaptMLP init must be one of \('lora', "
            r"'trunc_normal'\), but got 'xavier'"):
        AdaptMLP(16, 4, init='xavier')


def _extra_tensors(adapter):
    """Tensors the adapter's attributes hold besides its parameters and
    buffers (such as a copy of its initial values)."""
    own = {id(t) for t in [*adapter.parameters(), *adapter.buffers()]}
    found, todo = [], list(vars(adapter).values())
    while todo:
        obj = todo.pop()
        if isinstance(obj, torch.Tensor):
            if id(obj) not in own:
                found.append(obj)
        elif isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            todo.extend(obj)
    return found


def test_init_weights_lets_go_of_the_initial_values():
    """The copy of the initial values ``restore_init`` gives back (as large
    as the adapter) is let go once ``init_weights()`` has used it; a later
    ``restore_init`` says so, and a second ``init_weights()`` leaves the
    adapters as they are (MMEngine applies no ``init_cfg`` twice either).
    The old code kept the copy for the model's life."""
    torch.manual_seed(0)
    model = _stock_deit_with_adaptformer()
    adapters = list(adapter_modules(model).values())
    assert all(_extra_tensors(a) for a in adapters)
    model.init_weights()
    assert not any(_extra_tensors(a) for a in adapters)
    with pytest.raises(
            RuntimeError,
            match=r'AdaptMLP\(scale=0\.1.*'
            r'restore_init\(\): its initial values are no '
            r'longer kept.*reset_parameters\(\)'):
        adapters[0].restore_init()
    with torch.no_grad():
        adapters[0].up_proj.weight.fill_(1.)
    model.backbone.init_weights()
    assert torch.count_nonzero(adapters[0].up_proj.weight) > 0
    adapters[0].reset_parameters()
    assert torch.count_nonzero(adapters[0].up_proj.weight) == 0


def test_a_loaded_adapter_keeps_no_initial_values(tmp_path):
    """A model that gets its adapters from a checkpoint (as the
    Inferencers and ``init_model`` build them, without ``init_weights``)
    keeps no copy of their initial values; a state dict without them (a
    host's pretrained weights) leaves it. The old code kept it."""
    from mmengine.runner import load_checkpoint
    torch.manual_seed(0)
    model = _stock_deit_with_adaptformer()
    adapters = list(adapter_modules(model).values())
    other = AdaptMLP(192, 8)
    other.load_state_dict({'up_proj.weight': torch.ones(192, 8)}, strict=False)
    assert _extra_tensors(other)
    path = str(tmp_path / 'model.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    load_checkpoint(model, path)
    assert not any(_extra_tensors(a) for a in adapters)
    with pytest.raises(RuntimeError, match='no longer kept'):
        adapters[0].restore_init()
