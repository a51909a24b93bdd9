# Copyright (c) mmadaptformer contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from mmadaptformer.models import AdaptMLP


@pytest.mark.parametrize('norm', [None, 'in', 'out'])
def test_lora_init_makes_the_adapter_output_zero(norm):
    torch.manual_seed(0)
    adapter = AdaptMLP(32, bottleneck=8, norm=norm)

    assert torch.count_nonzero(adapter.up_proj.weight) == 0
    assert torch.count_nonzero(adapter.up_proj.bias) == 0
    assert torch.count_nonzero(adapter.down_proj.bias) == 0
    weight = adapter.down_proj.weight
    assert torch.count_nonzero(weight) == weight.numel()
    # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    bound = 1 / math.sqrt(32)
    assert weight.abs().max() <= bound
    assert weight.abs().max() > 0.8 * bound
    assert torch.equal(adapter(torch.randn(2, 5, 32)), torch.zeros(2, 5, 32))


def test_submodules_and_parameter_count():
    d, d_hat = 48, 12
    branch = 2 * d * d_hat + d_hat + d
    adapter = AdaptMLP(d, bottleneck=d_hat)
    assert [n for n, _ in adapter.named_children()] == ['down_proj', 'up_proj']
    assert adapter.down_proj.weight.shape == (d_hat, d)
    assert adapter.up_proj.weight.shape == (d, d_hat)
    assert sum(p.numel() for p in adapter.parameters()) == branch
    assert isinstance(adapter.scale, float) and adapter.scale == 0.1

    learnable = AdaptMLP(d, bottleneck=d_hat, scale='learnable')
    assert isinstance(learnable.scale, torch.nn.Parameter)
    assert learnable.scale.shape == (1, ) and learnable.scale.item() == 1.
    assert 'scale' in learnable.state_dict()
    assert sum(p.numel() for p in learnable.parameters()) == branch + 1

    normed = AdaptMLP(d, bottleneck=d_hat, norm='in')
    assert isinstance(normed.norm, torch.nn.LayerNorm)
    assert sum(p.numel() for p in normed.parameters()) == branch + 2 * d


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(scale=2),
    dict(scale='learnable'),
    dict(norm='in'),
    dict(norm='out'),
])
def test_forward_matches_the_formula(kwargs, randomize_adapters,
                                     adaptmlp_by_hand):
    adapter = AdaptMLP(16, bottleneck=4, **kwargs)
    randomize_adapters(adapter)
    x = torch.randn(3, 7, 16)
    expected = adaptmlp_by_hand(adapter, x)
    assert expected.abs().max() > 0
    assert_close(adapter(x), expected)


def test_norm_out_normalises_the_scaled_output(randomize_adapters):
    adapter = AdaptMLP(16, bottleneck=4, norm='out')
    randomize_adapters(adapter)
    with torch.no_grad():
        adapter.norm.weight.fill_(1.)
        adapter.norm.bias.zero_()
    out = adapter(torch.randn(4, 16))
    assert_close(out.mean(-1), torch.zeros(4), atol=1e-5, rtol=0)
    assert_close(out.var(-1, unbiased=False), torch.ones(4), atol=2e-2, rtol=0)


def test_dropout_acts_on_the_bottleneck_in_train_mode_only(
        randomize_adapters, adaptmlp_by_hand):
    adapter = AdaptMLP(16, bottleneck=32, dropout=0.5)
    randomize_adapters(adapter)
    x = torch.randn(4, 16)

    adapter.train()
    assert not torch.allclose(adapter(x), adapter(x))
    torch.manual_seed(3)
    out = adapter(x)
    torch.manual_seed(3)
    down = F.dropout(torch.relu(adapter.down_proj(x)), p=0.5, training=True)
    assert_close(out, adapter.up_proj(down) * 0.1)

    adapter.eval()
    assert torch.equal(adapter(x), adapter(x))
    assert_close(adapter(x), adaptmlp_by_hand(adapter, x))


@pytest.mark.parametrize('kwargs, match', [
    (dict(bottleneck=0), 'bottleneck must be a positive int, but got 0'),
    (dict(bottleneck=-4), 'bottleneck must be a positive int, but got -4'),
    (dict(bottleneck=2.5), 'bottleneck must be a positive int, but got 2.5'),
    (dict(scale='big'),
     "scale must be a number or 'learnable', but got 'big'"),
    (dict(scale=None), "scale must be a number or 'learnable', but got None"),
    (dict(scale=0), 'finite number other than 0 .* would add nothing'),
    (dict(scale=0.), 'other than 0 .* but got 0.0:'),
    (dict(scale=float('inf')), 'but got inf: .* inf or nan'),
    (dict(scale=float('nan')), 'but got nan: .* inf or nan'),
    (dict(norm='mid'), "norm must be one of .* but got 'mid'"),
    (dict(dropout=1.), r'dropout must be a float in \[0, 1\), but got 1.0'),
])
def test_invalid_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AdaptMLP(16, **kwargs)
