# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A module registered under several parents (EVA-02's rotary table, one
``rope`` for every block) has a state-dict key under each. The refusal
named each such tensor by whichever key came last, so one key was listed
for all of them (``rope.freqs_cos`` six times); each is now named by the
key of its own module path, a wrapper's inner ``backbone.`` left out."""
import torch
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  _state_dict_names,
                                                  check_state_dict)


class _Rope(nn.Module):

    def __init__(self, length):
        super().__init__()
        self.register_buffer('freqs_cos', torch.zeros(length))


class _Attn(nn.Module):

    def __init__(self, rope):
        super().__init__()
        self.proj = nn.Linear(2, 2)
        self.rope = rope


class _Net(nn.Module):

    def __init__(self, length):
        super().__init__()
        rope = _Rope(length)
        self.layers = nn.ModuleList(_Attn(rope) for _ in range(3))


def test_each_key_of_a_shared_module_is_named_once():
    try:
        check_state_dict(_Net(4), _Net(5).state_dict(), 'f.pth')
    except StateDictMismatchError as e:
        message = str(e)
    else:
        raise AssertionError('not refused')
    assert '3 keys with other shapes' in message, message
    for i in range(3):
        assert message.count(f'  layers.{i}.rope.freqs_cos: (5,) vs (4,)') \
            == 1, message


def test_a_wrapped_shared_module_is_named_by_its_own_path():
    init_default_scope('mmpretrain')
    model = MODELS.build(
        dict(
            type='AdaptFormer',
            backbone=dict(
                type='ViTEVA02',
                arch=dict(
                    embed_dims=32,
                    num_layers=2,
                    num_heads=2,
                    feedforward_channels=64),
                patch_size=14,
                img_size=28),
            adapter=dict(bottleneck=4)))
    names = _state_dict_names(model)
    for path in ('backbone.rope.freqs_cos',
                 'backbone.layers.0.attn.rope.freqs_cos',
                 'backbone.layers.1.attn.rope.freqs_sin'):
        assert names[path] == path[len('backbone.'):], names
