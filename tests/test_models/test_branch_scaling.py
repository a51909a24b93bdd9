# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A declared block's scalar layer scale counts as one (ReZero-style
``x + alpha * mlp(norm2(x))``): without a declared ``branch`` the adapter
would join the ``mlp`` output and be multiplied by ``alpha`` (zero at
ReZero's initialisation, so it would train nothing), so the block is
refused as the per-channel layer scales are
(:mod:`mmadaptformer.models.adapters.branch_scaling`)."""
import pytest
import torch
from torch import nn

from mmadaptformer.models import adapter_modules, inject_adapters
from mmadaptformer.models.adapters.branch_scaling import branch_scalers
from mmadaptformer.utils import ConfigError

DIMS = 16


class ReZeroBlock(nn.Module):
    """A pre-norm block whose feed-forward branch is scaled by one
    learnable scalar."""

    def __init__(self) -> None:
        super().__init__()
        self.norm2 = nn.LayerNorm(DIMS)
        self.mlp = nn.Sequential(
            nn.Linear(DIMS, 2 * DIMS), nn.GELU(), nn.Linear(2 * DIMS, DIMS))
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.alpha * self.mlp(self.norm2(x))


def test_a_scalar_layer_scale_is_named():
    block = ReZeroBlock()
    assert branch_scalers(block, block.norm2, block.mlp,
                          DIMS) == ["layer scale 'alpha'"]


def test_a_declared_block_with_a_scalar_layer_scale_needs_its_branch():
    block = ReZeroBlock()
    with pytest.raises(
            ConfigError,
            match=r"^Block 'ReZeroBlock' \(ReZeroBlock\) declares no branch, "
            r"so its AdaptMLP would join the output of 'mlp', but the block "
            r"holds layer scale 'alpha', "):
        inject_adapters(
            block,
            block_types=[dict(type='ReZeroBlock', norm='norm2', ffn='mlp')])
    assert not adapter_modules(block)
