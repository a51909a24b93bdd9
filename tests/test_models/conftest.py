# Copyright (c) mmadaptformer contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

import mmadaptformer  # noqa: F401  (registers the models)
from mmadaptformer.models import AdaptMLP, adapter_modules


def _adaptmlp_by_hand(adapter: AdaptMLP, x: torch.Tensor) -> torch.Tensor:
    """s * up(ReLU(down(x))) with the optional LayerNorm, from parameters."""
    dims = (adapter.embed_dims, )
    if adapter.norm_position == 'in':
        x = F.layer_norm(x, dims, adapter.norm.weight, adapter.norm.bias)
    down = torch.relu(x @ adapter.down_proj.weight.t() +
                      adapter.down_proj.bias)
    out = (down @ adapter.up_proj.weight.t() + adapter.up_proj.bias) * \
        adapter.scale
    if adapter.norm_position == 'out':
        out = F.layer_norm(out, dims, adapter.norm.weight, adapter.norm.bias)
    return out


def _randomize_adapters(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every adapter non-zero weights (and a learnable scale of 0.7)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for adapter in adapter_modules(model).values():
            for name, param in adapter.named_parameters():
                if name == 'scale':
                    param.fill_(0.7)
                else:
                    param.copy_(0.5 *
                                torch.randn(param.shape, generator=generator))


def _freeze_all_but_adapters(model: torch.nn.Module) -> None:
    adapter_params = {
        id(p)
        for adapter in adapter_modules(model).values()
        for p in adapter.parameters()
    }
    for param in model.parameters():
        param.requires_grad_(id(param) in adapter_params)


@pytest.fixture
def adaptmlp_by_hand():
    return _adaptmlp_by_hand


@pytest.fixture
def randomize_adapters():
    return _randomize_adapters


@pytest.fixture
def freeze_all_but_adapters():
    return _freeze_all_but_adapters
