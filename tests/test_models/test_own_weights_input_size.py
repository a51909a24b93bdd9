# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Weights a wrapped host reads itself (TimeSformer's ``pretrained``, also
a 2D ViT init_cfg it converts; Swin3D's with ``pretrained2d=False``) saved
for another input size: the tensors of other shapes (``pos_embed``, the
relative position tables) were skipped with MMEngine's warning only, and
the frozen backbone kept them random for good, where the same file in the
host's own layout as an init_cfg was refused. Now refused, naming the
file, its config key, each tensor with both shapes and what to do. A host
that resizes the tables itself (Swin3D's 2D inflation) loads as the plain
host does."""
import re

import pytest
import torch
from mmengine.registry import MODELS, init_default_scope
from plain_hosts import swin3d_as_2d

from mmadaptformer.models import AdaptFormer
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

TIMESFORMER = dict(
    type='TimeSformer',
    num_frames=4,
    patch_size=16,
    embed_dims=32,
    num_heads=2,
    num_transformer_layers=1)
SWIN3D = dict(
    type='SwinTransformer3D',
    arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 2]),
    patch_size=(2, 4, 4),
    out_indices=(1, ),
    drop_path_rate=0.)


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmaction')


def _vit2d(path, img_size):
    """A 2D ViT in mmcv's layout (``norms.*``, one attention), as
    mmaction2 publishes the file TimeSformer starts from."""
    torch.manual_seed(0)
    source = MODELS.build(dict(TIMESFORMER, img_size=img_size))
    state = {
        k.replace('attentions.0.norm',
                  'norms.0').replace('ffns.0.norm', 'norms.1'): v
        for k, v in source.state_dict().items() if 'attentions.1' not in k
        and 'temporal_fc' not in k and k != 'time_embed'
    }
    torch.save({'state_dict': state}, path)
    return state


@pytest.mark.parametrize(
    'given', ['pretrained', 'init_cfg'], ids=['own key', 'init_cfg'])
def test_a_2d_vit_of_another_img_size_is_refused(tmp_path, clean_loggers,
                                                 given):
    path = str(tmp_path / 'vit2d.pth')
    state = _vit2d(path, img_size=32)
    if given == 'pretrained':
        host, key = dict(TIMESFORMER, pretrained=path), 'pretrained'
    else:
        host = dict(
            TIMESFORMER, init_cfg=dict(type='Pretrained', checkpoint=path))
        key = 'init_cfg.checkpoint'
    model = AdaptFormer(backbone=dict(host, img_size=48))
    with pytest.raises(StateDictMismatchError) as info:
        model.init_weights()
    message = str(info.value)
    assert message.startswith(
        f'TimeSformer loaded {path} (model.backbone.backbone.{key}) itself, '
        'non-strictly: 1 of its tensors has another shape'), message
    assert '\n  pos_embed: (1, 5, 32) vs (1, 10, 32)\n' in message, message
    assert 'Build the model with the img_size the file was saved for' in \
        message, message
    assert model.host_source is None

    # Built for the file's size, it loads (the temporal attention copied).
    model = AdaptFormer(backbone=dict(host, img_size=32))
    model.init_weights()
    assert model.host_source == path
    assert torch.equal(model.backbone.pos_embed, state['pos_embed'])


def test_swin3d_tables_of_another_window_are_refused_unless_inflated(
        tmp_path, clean_loggers):
    # A 2D file of window 2, which the inflation resizes for window 4:
    # loaded as the plain host loads it.
    torch.manual_seed(0)
    small = MODELS.build(dict(SWIN3D, window_size=(2, 2, 2))).state_dict()
    file2d = str(tmp_path / 'swin2d.pth')
    torch.save({'model': swin3d_as_2d(small, (2, 2))}, file2d)
    inflated = dict(
        SWIN3D, window_size=(2, 4, 4), pretrained=file2d, pretrained2d=True)
    torch.manual_seed(1)
    plain = MODELS.build(inflated)
    plain.init_weights()
    torch.manual_seed(1)
    model = AdaptFormer(backbone=inflated)
    model.init_weights()
    assert model.host_source == file2d
    host = model.backbone.state_dict()
    for key, value in plain.state_dict().items():
        assert torch.equal(host[key], value), key
    torch.manual_seed(1)
    fresh = MODELS.build(dict(inflated, pretrained=None)).state_dict()
    table = 'layers.0.blocks.0.attn.relative_position_bias_table'
    assert not torch.equal(host[table], fresh[table])  # loaded, resized

    # A 3D file of window 2 on a host of window 4 was part-loaded.
    file3d = str(tmp_path / 'swin3d.pth')
    torch.save({'state_dict': small}, file3d)
    model = AdaptFormer(
        backbone=dict(
            SWIN3D,
            window_size=(2, 4, 4),
            pretrained=file3d,
            pretrained2d=False))
    with pytest.raises(StateDictMismatchError) as info:
        model.init_weights()
    message = str(info.value)
    assert message.startswith(
        f'SwinTransformer3D loaded {file3d} (model.backbone.backbone.'
        'pretrained) itself, non-strictly: 4 of its tensors have'), message
    listed = re.findall(r'^  (\S+): (\(.*\)) vs (\(.*\))$', message, re.M)
    assert listed == [
        ('layers.0.blocks.0.attn.relative_position_bias_table', '(27, 1)',
         '(147, 1)'),
        ('layers.0.blocks.0.attn.relative_position_index', '(8, 8)',
         '(32, 32)'),
        ('layers.1.blocks.0.attn.relative_position_bias_table', '(27, 2)',
         '(147, 2)'),
        ('layers.1.blocks.0.attn.relative_position_index', '(8, 8)',
         '(32, 32)'),
    ], message
    assert 'build the host with the sizes the file was saved for, or ' \
        "convert the file to this host's." in message, message
