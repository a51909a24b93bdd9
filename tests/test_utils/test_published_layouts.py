# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--pretrained`` with published backbones in their own key layouts.

The official VideoMAE/MAE/AdaptFormer code and timm name a ViT's patch
embedding ``patch_embed.proj`` and its MLP ``mlp.fc1``/``fc2``; mmaction2's
and mmpretrain's ``VisionTransformer`` name them otherwise. Such a file,
unconverted, given as ``--pretrained`` to a config whose frozen backbone
is checked by no hook (the stock tiny configs, a user's own) loaded the
attention and norms only and trained on, exit status 0, its patch
embedding and MLPs random. The files here are written in those layouts
(tiny shapes: 64 dims, 2 blocks, patch 16).
"""
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)
from mmengine.config import Config

from mmadaptformer.utils.pretrained_backbone import (PretrainedFileError,
                                                     set_pretrained_backbone)

DIMS, HIDDEN, DEPTH = 64, 128, 2


def _official_vit(video):
    """The blocks as the official VideoMAE code and timm save them."""
    sd = OrderedDict()
    patch = (DIMS, 3, 2, 16, 16) if video else (DIMS, 3, 16, 16)
    sd['patch_embed.proj.weight'] = torch.zeros(patch)
    sd['patch_embed.proj.bias'] = torch.zeros(DIMS)
    for i in range(DEPTH):
        p = f'blocks.{i}.'
        for norm in ('norm1', 'norm2'):
            sd[f'{p}{norm}.weight'] = torch.ones(DIMS)
            sd[f'{p}{norm}.bias'] = torch.zeros(DIMS)
        sd[p + 'attn.qkv.weight'] = torch.zeros(3 * DIMS, DIMS)
        if video:
            sd[p + 'attn.q_bias'] = torch.zeros(DIMS)
            sd[p + 'attn.v_bias'] = torch.zeros(DIMS)
        else:
            sd[p + 'attn.qkv.bias'] = torch.zeros(3 * DIMS)
        sd[p + 'attn.proj.weight'] = torch.zeros(DIMS, DIMS)
        sd[p + 'attn.proj.bias'] = torch.zeros(DIMS)
        sd[p + 'mlp.fc1.weight'] = torch.zeros(HIDDEN, DIMS)
        sd[p + 'mlp.fc1.bias'] = torch.zeros(HIDDEN)
        sd[p + 'mlp.fc2.weight'] = torch.zeros(DIMS, HIDDEN)
        sd[p + 'mlp.fc2.bias'] = torch.zeros(DIMS)
    return sd


def _videomae_finetuned():
    """A fine-tuned VideoMAE model as the official code saves it, bare."""
    sd = _official_vit(video=True)
    sd['fc_norm.weight'] = torch.ones(DIMS)
    sd['fc_norm.bias'] = torch.zeros(DIMS)
    sd['head.weight'] = torch.zeros(2, DIMS)
    sd['head.bias'] = torch.zeros(2)
    return sd


def _timm_encoder():
    """MAE's published ``mae_pretrain_vit_base.pth`` holds a timm
    encoder only."""
    sd = _official_vit(video=False)
    sd['cls_token'] = torch.zeros(1, 1, DIMS)
    sd['pos_embed'] = torch.zeros(1, 5, DIMS)
    sd['norm.weight'] = torch.ones(DIMS)
    sd['norm.bias'] = torch.zeros(DIMS)
    return sd


def _assert_other_layouts_load(tmp_path):
    """What a refusal of the official layout must not refuse."""
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    _, init_cfg = set_pretrained_backbone(cfg, stock)
    assert init_cfg == dict(
        type='Pretrained', checkpoint=stock, prefix='backbone.')
    # A host whose own layout is ``patch_embed.proj`` (mmaction2's Swin3D)
    # is not a VisionTransformer: its files are not refused here.
    swin = str(tmp_path / 'swin.pth')
    torch.save({'patch_embed.proj.weight': torch.zeros(1)}, swin)
    cfg = Config(
        dict(model=dict(backbone=dict(type='SwinTransformer3D', arch='t'))))
    _, init_cfg = set_pretrained_backbone(cfg, swin)
    assert init_cfg == dict(type='Pretrained', checkpoint=swin)


@pytest.mark.parametrize('config, state, wrap, key', [
    (TINY_VIDEO_CONFIG, _videomae_finetuned, None, 'model.backbone'),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, _videomae_finetuned, 'state_dict',
     'model.backbone.backbone'),
    (TINY_IMAGE_CONFIG, _timm_encoder, None, 'model.backbone'),
    (TINY_IMAGE_CONFIG, _timm_encoder, 'backbone.', 'model.backbone'),
])
def test_unconverted_official_layouts_are_refused(tmp_path, config, state,
                                                  wrap, key):
    sd = state()
    if wrap == 'state_dict':
        sd = {'state_dict': sd}
    elif wrap == 'backbone.':
        sd = {'state_dict': {'backbone.' + k: v for k, v in sd.items()}}
    path = str(tmp_path / 'published.pth')
    torch.save(sd, path)
    cfg = Config.fromfile(config)
    with pytest.raises(PretrainedFileError) as info:
        set_pretrained_backbone(cfg, path)
    message = str(info.value)
    assert message.startswith(f'{path} is in the key layout of the official '
                              'VideoMAE/MAE/DeiT/AdaptFormer code or timm')
    assert f'which {key} (VisionTransformer) names otherwise' in message
    # The one --type that writes for this config's toolbox.
    flag = '--type mae' if config == TINY_IMAGE_CONFIG else '--type videomae'
    assert ('python tools/model_converters/convert_official.py '
            f'{path} CONVERTED.pth {flag} (') in message
    assert cfg.model.backbone.get('init_cfg') == Config.fromfile(
        config).model.backbone.get('init_cfg')
    if wrap == 'state_dict':
        _assert_other_layouts_load(tmp_path)


def test_train_tool_refuses_an_unconverted_backbone(tmp_path, tiny_video_data):
    path = str(tmp_path / 'videomae_ft.pth')
    torch.save(_videomae_finetuned(), path)
    config = write_config(
        str(tmp_path / 'cfg.py'), TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + 'train_cfg = dict(max_epochs=1)\n')
    work_dir = str(tmp_path / 'work')
    proc = run_tool(
        ['train.py', config, '--pretrained', path, '--work-dir', work_dir],
        cwd=str(tmp_path),
        check=False)
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert (f'PretrainedFileError: {path} is in the key layout of the '
            'official') in proc.stdout
    assert not osp.exists(osp.join(work_dir, 'epoch_1.pth'))
