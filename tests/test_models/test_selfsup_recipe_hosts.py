# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every mmpretrain self-supervised recipe whose backbone AdaptFormer
wraps: the pre-training config's backbone (tiny) saves a file, and the
method's fine-tuning config, its backbone wrapped in AdaptFormer, starts
from it through MMEngine's ``init_weights`` as the plain config does: every
tensor the two share equal to the file's. The recipes the pretrained check
refuses are named with their cause: CAE's fine-tuning config turns on
relative position bias that its files lack (random tables, frozen), and
MFF's files hold projection layers beside the backbone's.

MAE, BEiT and SimMIM were refused as "saved from another architecture"
before (the final norm ``ln1`` and ``mask_token`` the fine-tuning layouts
drop); ``test_selfsup_pretraining_files.py`` trains, tests and serves
them.
"""
import copy

import pytest
import torch
from mmengine.hub import get_config
from mmengine.registry import MODELS, init_default_scope
from pretraining_files import save_pretraining_file

import mmadaptformer  # noqa: F401 (registers AdaptFormer)
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

VIT = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
SWIN = dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 4])

#: method: (pre-training config, fine-tuning config, tiny arch, img_size,
#: head width, pre-training backbone overrides, fine-tuning ones).
RECIPES = {
    'mae': ('mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py',
            'mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py', VIT, 32,
            32, {}, {}),
    'beitv2': ('beitv2/beitv2_beit-base-p16_8xb256-amp-coslr-300e_in1k.py',
               'beitv2/benchmarks/beit-base-p16_8xb128-coslr-100e_in1k.py',
               VIT, 32, 32, dict(out_indices=[-2, -1]), {}),
    'eva': ('eva/eva-mae-style_vit-base-p16_16xb256-coslr-400e_in1k.py',
            'eva/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py', VIT, 32,
            32, {}, {}),
    'maskfeat':
    ('maskfeat/maskfeat_vit-base-p16_8xb256-amp-coslr-300e_in1k.py',
     'maskfeat/benchmarks/vit-base-p16_8xb256-coslr-100e_in1k.py', VIT, 32, 32,
     {}, {}),
    'milan': ('milan/milan_vit-base-p16_16xb256-amp-coslr-400e_in1k.py',
              'milan/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py', VIT,
              32, 32, {}, {}),
    'mocov3': ('mocov3/mocov3_vit-base-p16_16xb256-amp-coslr-300e_in1k.py',
               'mocov3/benchmarks/vit-base-p16_8xb64-coslr-150e_in1k.py', VIT,
               32, 32, {}, {}),
    'mixmim':
    ('mixmim/mixmim_mixmim-base_16xb128-coslr-300e_in1k.py',
     'mixmim/benchmarks/mixmim-base_8xb128-coslr-100e_in1k.py', SWIN, 64, 128,
     dict(window_size=[4, 4, 4, 2]), dict(window_size=[4, 4, 4, 2])),
    'simmim':
    ('simmim/simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py',
     'simmim/benchmarks/swin-base-w6_8xb256-coslr-100e_in1k-192px.py', SWIN,
     192, 128, {}, {}),
    'cae': ('cae/cae_beit-base-p16_8xb256-amp-coslr-300e_in1k.py',
            'cae/benchmarks/beit-base-p16_8xb128-coslr-100e_in1k.py', VIT, 32,
            32, {}, {}),
    # CAE's, built as the refusal of the one above says.
    'cae_without_rel_pos_bias':
    ('cae/cae_beit-base-p16_8xb256-amp-coslr-300e_in1k.py',
     'cae/benchmarks/beit-base-p16_8xb128-coslr-100e_in1k.py', VIT, 32, 32, {},
     dict(use_rel_pos_bias=False)),
    'mff': ('mff/mff_vit-base-p16_8xb512-amp-coslr-300e_in1k.py',
            'mff/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py', VIT, 32,
            32, dict(out_indices=[0, 1]), {}),
}

#: The refused recipes and the start of their cause.
REFUSED = {
    'cae':
    'it holds no layers.N.attn.relative_position_bias_table of any block '
    "(the model's blocks have 2 such tensors): the model is built with a "
    'part that the file was saved without, e.g. relative position bias '
    '(use_rel_pos_bias=True, rpe=True) for a file pre-trained without it '
    '(CAE, MAE on HiViT). Loaded, that part would keep its random '
    'initialisation, and a frozen backbone would keep it for good. Build '
    'the backbone as the file was saved (e.g. use_rel_pos_bias=False, '
    'rpe=False)',
}


def _scoped(kind: str) -> str:
    return kind if '.' in kind else f'mmpretrain.{kind}'


def _build(method: str, path: str, wrap: bool) -> torch.nn.Module:
    _, fine, arch, size, width, _, overrides = RECIPES[method]
    model = get_config(f'mmpretrain::{fine}').model.to_dict()
    model['type'] = _scoped(model['type'])
    host = model['backbone']
    host.update(
        copy.deepcopy(overrides),
        arch=copy.deepcopy(arch),
        img_size=size,
        type=_scoped(host['type']),
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    if wrap:
        model['backbone'] = dict(
            type='AdaptFormer', backbone=host, adapter=dict(bottleneck=8))
    model['head'].update(in_channels=width, num_classes=3)
    model.pop('train_cfg', None)
    torch.manual_seed(1)
    built = MODELS.build(model)
    built.init_weights()
    return built.backbone.backbone if wrap else built.backbone


@pytest.mark.parametrize('method', list(RECIPES))
def test_adaptformer_starts_from_the_recipe_file_as_the_plain_config(
        tmp_path, method):
    init_default_scope('mmpretrain')
    path = str(tmp_path / f'{method}.pth')
    pre, _, arch, size, _, overrides, _ = RECIPES[method]
    source = save_pretraining_file(
        pre, path, arch=arch, img_size=size, **overrides)
    plain = _build(method, path, wrap=False).state_dict()
    shared = [k for k in source if k in plain]
    assert len(shared) > 10, shared
    for key in shared:
        assert torch.equal(plain[key], source[key]), key
    if method in REFUSED:
        with pytest.raises(StateDictMismatchError) as info:
            _build(method, path, wrap=True)
        message = str(info.value)
        assert f'does not fit the model: {REFUSED[method]}' in message, \
            message
        return
    own = _build(method, path, wrap=True).state_dict()
    assert [k for k in shared if k in own] == shared
    for key in shared:
        assert torch.equal(own[key], source[key]), key
