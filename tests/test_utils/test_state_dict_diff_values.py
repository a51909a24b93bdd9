# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``diff_state_dict`` gives a load hook that reads the checkpoint's values
those values, the model and the checkpoint read-only.

Its dry run ran the model's loading code on ``meta`` copies only; where a
hook failed on them it compared keys and shapes without the hooks. So
mmpretrain's BEiT, whose pre-hook resizes a relative position bias table of
another window size by NumPy, was refused a pretrained checkpoint of another
input size as "saved from another architecture", though BEiT loads it
(AdaptFormer on BEiT with ``init_cfg=dict(type='Pretrained', ...)``: the
refusal came from every build of it).
"""
import logging

import pytest
import torch
from block_builders import mmpretrain_backbone_cfg
from helpers import TINY_IMAGE_CONFIG
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmadaptformer.utils.state_dict_diff import diff_state_dict


def _beit(size: int) -> nn.Module:
    from mmpretrain.models import BEiTViT
    return BEiTViT(
        arch=dict(
            embed_dims=16, num_layers=1, num_heads=2, feedforward_channels=32),
        img_size=size,
        patch_size=16,
        use_abs_pos_emb=False)


def _snapshot(tensors) -> dict:
    return {k: v.detach().clone() for k, v in tensors.items()}


def _assert_unchanged(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key


def _assert_fits_and_nothing_changes(model: nn.Module,
                                     state_dict: dict) -> None:
    """The dry run finds no difference; neither the model's tensors nor
    the checkpoint's changed."""
    model_before = _snapshot(model.state_dict())
    checkpoint_before = _snapshot(state_dict)
    diff = diff_state_dict(model, state_dict)
    assert (diff.missing, diff.unexpected, diff.mismatched,
            diff.errors) == ([], [], [], [])
    _assert_unchanged(model_before, model.state_dict())
    _assert_unchanged(checkpoint_before, state_dict)


def test_a_hook_that_resizes_by_numpy_gets_the_values(log_records):
    """BEiT's table of window 4 into a model of window 2: resized by its
    hook, nothing differs; neither the model nor the checkpoint changes,
    and no warning is logged."""
    torch.manual_seed(0)
    state_dict = _beit(64).state_dict()
    model = _beit(32)
    _assert_fits_and_nothing_changes(model, state_dict)
    assert not [r for r in log_records if r.levelno >= logging.WARNING]
    assert any(
        "needs the checkpoint's values (TypeError on meta tensors: "
        "can't convert meta device type tensor to numpy" in r.getMessage()
        for r in log_records)


def test_a_hook_that_fails_on_the_values_too_gets_the_key_comparison(
        log_records):
    """A table of window 2 (3 x 3 entries) is too small for BEiT's cubic
    resize, which fails on the values as the real load would: the key
    comparison names the tables, and a warning says why it is the plainer
    diagnosis."""
    state_dict = _beit(32).state_dict()
    diff = diff_state_dict(_beit(64), state_dict)
    assert not diff.missing and not diff.unexpected
    assert diff.mismatched == [
        ('layers.0.attn.relative_position_bias_table', (12, 2), (52, 2)),
        ('layers.0.attn.relative_position_index', (5, 5), (17, 17)),
    ]
    warned = [
        r.getMessage() for r in log_records if r.levelno == logging.WARNING
    ]
    assert len(warned) == 1, warned
    assert "the model's own loading code failed (" in warned[0]
    assert 'without what its load hooks would change' in warned[0]


class WritesWhileLoading(nn.Module):
    """A module whose load pre-hook reads the values it is given and
    writes, in place, into them, into its own parameter (and a view of
    it), by method, operator and item assignment."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))
        self.register_buffer('seen', torch.zeros(()))
        self.register_load_state_dict_pre_hook(self._read_and_write)

    def _read_and_write(self, module, state_dict, prefix, *args) -> None:
        value = state_dict.get(prefix + 'scale')
        if value is None:
            return
        with torch.no_grad():
            self.seen.fill_(value.sum().item())
            self.scale.mul_(3)
            self.scale[:2] += 1
            self.scale.data[2:] = 7
            value.add_(1)
            value[0] = -1
            value /= 2
            # Replaced, not written: the real load would see the new one.
            state_dict[prefix + 'scale'] = value * 0 + 5


def test_no_write_reaches_the_model_or_the_checkpoint():
    model = nn.Sequential(WritesWhileLoading(), nn.Linear(4, 3))
    state_dict = {
        '0.scale': torch.arange(4.),
        '0.seen': torch.zeros(()),
        '1.weight': torch.ones(3, 4),
        '1.bias': torch.ones(3)
    }
    _assert_fits_and_nothing_changes(model, state_dict)
    # The same hook in a real load does write: what was kept out.
    model.load_state_dict(state_dict)
    assert model[0].scale.tolist() == [5.] * 4
    assert state_dict['0.scale'].tolist() == [-0.5, 1., 1.5, 2.]


@pytest.mark.parametrize('wrapped', [False, True], ids=['BEiT', 'AdaptFormer'])
def test_beit_takes_a_pretrained_checkpoint_of_another_input_size(
        tmp_path, wrapped):
    """Through MMEngine's ``init_weights``: BEiT built for 96 px (window 6)
    with ``init_cfg=Pretrained`` of a 64 px model (window 4), alone and
    as the host of AdaptFormer, loads it, with the same resized tables."""
    init_default_scope('mmpretrain')
    base = 'beit/benchmarks/beit-base-p16_8xb64_in1k.py'
    arch = dict(
        embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)

    def backbone(size: int) -> dict:
        return mmpretrain_backbone_cfg(base, 'BEiTViT',
                                       dict(arch=arch, img_size=size))

    cfg = Config.fromfile(TINY_IMAGE_CONFIG).model
    cfg.update(backbone=backbone(64), head=dict(in_channels=32))
    torch.manual_seed(0)
    stock = MODELS.build(cfg)
    stock.init_weights()
    pretrained = str(tmp_path / 'beit64.pth')
    torch.save(dict(state_dict=stock.state_dict(), meta={}), pretrained)

    def built(wrap: bool) -> nn.Module:
        host = dict(
            backbone(96),
            init_cfg=dict(
                type='Pretrained', checkpoint=pretrained, prefix='backbone.'))
        cfg.backbone = dict(
            type='AdaptFormer', backbone=host, adapter=dict(
                bottleneck=8)) if wrap else host
        torch.manual_seed(1)
        model = MODELS.build(cfg)
        model.init_weights()
        return model.backbone.backbone if wrap else model.backbone

    host = built(wrapped)
    table = 'layers.1.attn.relative_position_bias_table'
    own = host.state_dict()[table]
    assert tuple(own.shape) == ((2 * 6 - 1)**2 + 3, 2)
    reference = built(False).state_dict()[table]
    assert torch.equal(own, reference)
    # Resized from the checkpoint's, not left at its initialisation: its
    # three extra (cls) entries are the checkpoint's.
    assert torch.equal(own[-3:], stock.backbone.state_dict()[table][-3:])
