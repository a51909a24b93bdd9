# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A check's dry run on the checkpoint's own tensors changes nothing the
load hooks own.

Where a load hook needs the checkpoint's values (BEiT's relative position
resize), the dry run runs the model's loading code on them, read-only. The
package's own hooks told a dry run by meta tensors only, so they took it
for a real load: the wrapper's guard read the frozen host's pretrained file
into a read-only host (nothing was written) and marked it loaded, and a
later load kept it random; the adapters let go of their initial values.
Writes through ``out=`` and ``.data =`` reached the model too.
"""
import torch
from block_builders import mmpretrain_backbone_cfg
from helpers import TINY_IMAGE_CONFIG
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmadaptformer.models.adapters import AdaptMLP
from mmadaptformer.utils.dry_run import ReadOnly, real_writes
from mmadaptformer.utils.state_dict_diff import diff_state_dict

_BEIT = 'beit/benchmarks/beit-base-p16_8xb64_in1k.py'
_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def _model_cfg(backbone: dict) -> Config:
    cfg = Config.fromfile(TINY_IMAGE_CONFIG).model
    cfg.update(head=dict(in_channels=32))
    cfg.backbone = backbone  # replaced, not merged
    return cfg


def _beit(size: int) -> dict:
    return mmpretrain_backbone_cfg(_BEIT, 'BEiTViT',
                                   dict(arch=_ARCH, img_size=size))


def test_a_refused_dry_run_leaves_the_host_unloaded(tmp_path):
    """An adapter-only state dict without its record, holding BEiT tables
    of another window (the meta dry run fails in BEiT's resize): the host
    is still to be loaded after the dry run, its adapters' initial values
    kept; the load that follows reads the pretrained file."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    stock = MODELS.build(_model_cfg(_beit(96)))
    stock.init_weights()
    pretrained = str(tmp_path / 'beit96.pth')
    torch.save(dict(state_dict=stock.state_dict(), meta={}), pretrained)
    torch.manual_seed(2)
    other = MODELS.build(
        _model_cfg(
            dict(
                type='AdaptFormer',
                backbone=_beit(64),
                adapter=dict(bottleneck=8))))
    state_dict = {
        k: v
        for k, v in other.state_dict().items() if 'adaptmlp' in k
        or k.startswith('head.') or 'relative_position_bias_table' in k
    }
    host = dict(
        _beit(96),
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.'))
    torch.manual_seed(1)
    model = MODELS.build(
        _model_cfg(
            dict(
                type='AdaptFormer', backbone=host,
                adapter=dict(bottleneck=8))))
    wrapper = model.backbone
    diff = diff_state_dict(model, state_dict)
    assert 'backbone.patch_embed.projection.weight' in diff.missing
    assert not wrapper.host_initialized
    adapters = [m for m in model.modules() if isinstance(m, AdaptMLP)]
    assert adapters and all(a._init_values is not None for a in adapters)
    model.init_weights()
    key = 'patch_embed.projection.weight'
    assert torch.equal(wrapper.backbone.state_dict()[key],
                       stock.backbone.state_dict()[key])


class _Writes(nn.Module):
    """A load pre-hook that writes into its parameter through ``out=``
    and replaces its ``.data``."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))
        self.register_load_state_dict_pre_hook(self._write)

    def _write(self, module, state_dict, prefix, *args) -> None:
        value = state_dict[prefix + 'w']
        with torch.no_grad():
            torch.add(value, 5, out=self.w)
            torch.mul(value, 0, out=value)
            self.w.data = torch.full((3, ), 9.)
        value.sum().item()  # reads the values: fails on meta


def test_out_and_data_writes_are_kept_out():
    model = _Writes()
    state_dict = {'w': torch.arange(3.)}
    diff = diff_state_dict(model, state_dict)
    assert (diff.missing, diff.unexpected, diff.mismatched) == ([], [], [])
    assert model.w.tolist() == [1., 1., 1.]
    assert state_dict['w'].tolist() == [0., 1., 2.]


def test_real_writes_pass():
    """Guards the one write a dry run makes: the host's pretrained file,
    loaded inside it as the real load will."""
    target = torch.zeros(2)
    with ReadOnly([target]):
        target.add_(1)
        with real_writes():
            target.add_(2)
    assert target.tolist() == [2., 2.]
