# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint that differs from the model only in tensors whose shapes
follow the input size is named as one saved for another input size.

mmpretrain's MViT does not resize its relative position tables when it
loads: MMEngine skips them with a warning and the frozen backbone would
keep them random, so AdaptFormer refuses such a file. The refusal said it
was "probably saved from another architecture (other depth, embed dims or
number of classes)", though only the tables of the other image size
differed.
"""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.utils.pos_embed_sizes import input_sized_cause
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

MVIT = dict(
    type='mmpretrain.MViT',
    arch=dict(embed_dims=16, num_layers=2, num_heads=1, downscale_indices=[1]))


def test_adaptformer_on_mvit_names_another_input_size(tmp_path):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    pretrained = str(tmp_path / 'mvit64.pth')
    torch.save(
        {'state_dict': MODELS.build(dict(MVIT, img_size=64)).state_dict()},
        pretrained)
    model = MODELS.build(
        dict(
            type='AdaptFormer',
            backbone=dict(
                MVIT,
                img_size=32,
                init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
            adapter=dict(bottleneck=4)))
    with pytest.raises(StateDictMismatchError) as e:
        model.init_weights()
    message = str(e.value)
    assert 'only tensors whose shapes follow the input size differ' in \
        message, message
    assert 'another architecture' not in message, message
    assert '\n  blocks.0.attn.rel_pos_h: (31, 16) vs (15, 16)\n' in message


def test_other_tensors_are_another_architecture():
    """Guards the rule: a relative table beside any other tensor of
    another shape is not named as another input size."""
    sized = ['blocks.0.attn.rel_pos_h', 'layers.1.attn.rope.freqs_cos']
    assert input_sized_cause(sized) is not None
    assert input_sized_cause(sized + ['blocks.0.attn.qkv.weight']) is None
    assert input_sized_cause([]) is None
