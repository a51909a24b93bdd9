# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmaction2's MaskFeat MViT config turned into AdaptFormer: its pretrained
file loads as mmaction2's own MViT loads it (``backbone.`` keys, relative
positions resized), checked first; and ``--pretrained`` replaces a host's
own ``pretrained`` path instead of losing to it."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.models import AdaptFormer
from mmadaptformer.models.backbones.maskfeat_weights import resize_rel_pos
from mmadaptformer.utils import set_pretrained_backbone
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

# An address where nothing answers: a host that loads it fails at once.
NOWHERE = 'http://127.0.0.1:9/maskfeat.pth'
MVIT = dict(
    type='MViT',
    arch=dict(embed_dims=16, num_layers=3, num_heads=1, downscale_indices=[1]),
    spatial_size=32,
    temporal_size=4,
    dim_mul_in_attention=False)
# The block before the width change widens in its MLP: no adapter there.
LAYERS = [1, 2]


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmaction')


def _maskfeat_checkpoint(path, spatial_size=64, **overrides):
    """A MaskFeat-style file: ``backbone.`` keys, pre-trained at another
    resolution, so its relative-position tables are longer."""
    torch.manual_seed(3)
    source = MODELS.build(dict(MVIT, spatial_size=spatial_size, **overrides))
    source.init_weights()
    torch.save(
        {
            'state_dict':
            {f'backbone.{k}': v
             for k, v in source.state_dict().items()}
        }, path)
    return source.state_dict()


def _upstream(path):
    """mmaction2's own MViT, loading the file itself."""
    torch.manual_seed(0)
    host = MODELS.build(
        dict(MVIT, pretrained=str(path), pretrained_type='maskfeat'))
    host.init_weights()
    return host.state_dict()


def _with_pretrained_flag(host, path):
    """An AdaptFormer config on ``host`` whose own ``pretrained`` names an
    address where nothing answers, after ``--pretrained path``."""
    cfg = Config(
        dict(
            model=dict(
                backbone=dict(
                    type='AdaptFormer',
                    backbone=dict(host, pretrained=NOWHERE),
                    layers=LAYERS))))
    set_pretrained_backbone(cfg, path)
    return cfg


def test_resize_matches_mmaction():
    table = torch.randn(31, 8)
    expected = torch.nn.functional.interpolate(
        table.t().unsqueeze(0), size=15, mode='linear').view(8, 15).t()
    assert torch.equal(resize_rel_pos(table, 15), expected)


@pytest.mark.parametrize('given', ['config', 'pretrained_flag'])
def test_maskfeat_file_loads_as_mmaction_loads_it(given, tmp_path):
    path = tmp_path / 'maskfeat.pth'
    source = _maskfeat_checkpoint(path)
    expected = _upstream(path)
    # The resized tables are not the file's: the test compares something.
    assert expected['blocks.0.attn.rel_pos_h'].shape != \
        source['blocks.0.attn.rel_pos_h'].shape
    host = dict(MVIT, pretrained=str(path), pretrained_type='maskfeat')
    if given == 'pretrained_flag':
        # As the stock config reads, then --pretrained: the host's own
        # address must not win over it.
        cfg = _with_pretrained_flag(host, str(path))
        assert cfg.model.backbone.backbone.pretrained is None
        host = cfg.model.backbone.backbone.to_dict()
    torch.manual_seed(1)
    model = AdaptFormer(backbone=host, layers=LAYERS)
    model.init_weights()
    assert model.host_source == str(path)
    # The host's own settings are back after the wrapper loaded the file.
    assert model.backbone.pretrained_type == 'maskfeat'
    state = model.backbone.state_dict()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key


def test_a_table_of_another_width_is_refused_by_name(tmp_path):
    path = tmp_path / 'maskfeat.pth'
    _maskfeat_checkpoint(path, arch=dict(MVIT['arch'], embed_dims=8))
    model = AdaptFormer(
        backbone=dict(MVIT, pretrained=str(path), pretrained_type='maskfeat'),
        layers=LAYERS)
    with pytest.raises(
            StateDictMismatchError,
            match=r'blocks\.0\.attn\.rel_pos_h') as refused:
        model.init_weights()
    # MViT's own `pretrained` only becomes its init_cfg: advice to set it
    # instead of init_cfg (given to Swin3D, TimeSformer) would send the
    # file back to the same refusal.
    assert 'pretrained=FILE' not in str(refused.value)
    assert 'reads checkpoints' not in str(refused.value)


@pytest.mark.parametrize(
    'host',
    [
        MVIT,
        # mmaction2's VideoMAE ViT takes `pretrained` too (and ignores it).
        dict(
            type='VisionTransformer',
            img_size=32,
            patch_size=16,
            embed_dims=32,
            depth=3,
            num_heads=2,
            num_frames=4,
            norm_cfg=dict(type='LN', eps=1e-6))
    ],
    ids=['mvit', 'videomae_vit'])
def test_pretrained_flag_wins_over_the_hosts_own_path(host, tmp_path):
    torch.manual_seed(4)
    stock = MODELS.build(host)
    stock.init_weights()
    path = str(tmp_path / 'stock.pth')
    torch.save({f'backbone.{k}': v
                for k, v in stock.state_dict().items()}, path)
    cfg = _with_pretrained_flag(host, path)
    model = MODELS.build(cfg.model.backbone)
    model.init_weights()  # not from NOWHERE: that fails
    assert model.host_source == path
    state = model.backbone.state_dict()
    for key, value in stock.state_dict().items():
        assert torch.equal(state[key], value), key
