# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--pretrained`` refuses a file whose weights MMEngine would not find
(nested under ``'model'``, as the official DeiT, Swin, MAE, VideoMAE and
AdaptFormer code and timm save them) with the converter for the config's
backbone, or the word that there is none: before, every such file was
told to run ``convert_official.py``, which only writes for
``VisionTransformer``. Real files; the configs are the tiny ones with
another backbone type (set_pretrained_backbone builds nothing)."""
import os.path as osp

import pytest
import torch
from helpers import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG
from mmengine.config import Config

from mmadaptformer.models import own_loading_hint_of_cfg
from mmadaptformer.utils import PretrainedFileError, set_pretrained_backbone
from mmadaptformer.utils.pretrained_conversion import mmpretrain_converter

NESTED = ("{file} cannot be loaded as a backbone's pretrained weights: its "
          "weights are nested under 'model' (3 tensors, e.g. 'cls_token'), "
          'as the official training code (DeiT, Swin, MAE, VideoMAE, '
          'AdaptFormer) and timm save them, where MMEngine does not look (it '
          "reads 'state_dict' or the top level), so nothing of it would "
          'load. ')


def _timm_vit():
    """Keys of a timm / official DeiT ViT (``patch_embed.proj``)."""
    return {
        'cls_token': torch.zeros(1, 1, 8),
        'patch_embed.proj.weight': torch.zeros(8, 3, 16, 16),
        'blocks.0.mlp.fc1.weight': torch.zeros(16, 8),
    }


def _refusal(config, backbone, content, tmp_path):
    file = str(tmp_path / 'official.pth')
    torch.save(content, file)
    cfg = Config.fromfile(config)
    cfg.model.backbone = backbone
    with pytest.raises(PretrainedFileError) as info:
        set_pretrained_backbone(
            cfg, file, own_loading_hint=own_loading_hint_of_cfg)
    return str(info.value), file


def test_the_installed_mmpretrain_converters_are_found_by_host_type():
    deit3 = mmpretrain_converter('mmpretrain.DeiT3')
    assert osp.basename(deit3) == 'deit3_to_mmpretrain.py'
    assert osp.isfile(deit3)
    assert osp.basename(mmpretrain_converter('LeViT')) == 'levit2mmpretrain.py'
    # mmpretrain 1.2 ships none for these.
    for host in ('VisionTransformer', 'DistilledVisionTransformer',
                 'SwinTransformer'):
        assert mmpretrain_converter(host) is None, host


def test_a_nested_deit_file_for_mmpretrain_vit_names_type_mae(tmp_path):
    line, file = _refusal(
        TINY_IMAGE_CONFIG,
        dict(type='VisionTransformer', arch='deit-tiny', img_size=32),
        dict(model=_timm_vit()), tmp_path)
    assert line == NESTED.format(file=file) + (
        'Convert it first: python tools/model_converters/convert_official.py '
        f"{file} CONVERTED.pth --type mae (mmpretrain's VisionTransformer: "
        'MAE, DeiT and timm ViTs), and give CONVERTED.pth as --pretrained.')


def test_a_nested_file_for_mmaction_vit_names_type_videomae(tmp_path):
    line, file = _refusal(
        TINY_VIDEO_CONFIG,
        dict(Config.fromfile(TINY_VIDEO_CONFIG).model.backbone),
        dict(
            model=dict(
                _timm_vit(), **
                {'patch_embed.proj.weight': torch.zeros(8, 3, 2, 16, 16)})),
        tmp_path)
    assert line.endswith(
        f"{file} CONVERTED.pth --type videomae (mmaction2's "
        'VisionTransformer: the VideoMAE layout), and give CONVERTED.pth '
        'as --pretrained.'), line


@pytest.mark.parametrize('host',
                         ['SwinTransformer', 'DistilledVisionTransformer'])
def test_a_nested_file_for_a_host_without_a_converter_says_so(host, tmp_path):
    line, file = _refusal(TINY_IMAGE_CONFIG, dict(type=host, arch='tiny'),
                          dict(model=_timm_vit()), tmp_path)
    assert line == NESTED.format(file=file) + (
        f'model.backbone is a {host}: neither this package '
        "(convert_official.py writes for mmaction2's and mmpretrain's "
        "VisionTransformer) nor the installed mmpretrain's "
        'tools/model_converters converts checkpoints for it. Give '
        f"--pretrained weights in {host}'s own key layout (e.g. the "
        "toolbox's model-zoo checkpoint); if the nested weights already "
        "are, save them as {'state_dict': WEIGHTS}.")
    assert 'convert_official.py SRC' not in line


def test_a_nested_file_for_deit3_names_mmpretrains_converter(tmp_path):
    line, file = _refusal(TINY_IMAGE_CONFIG, dict(type='DeiT3', arch='s'),
                          dict(model=_timm_vit()), tmp_path)
    assert line == NESTED.format(file=file) + (
        "Convert it first with mmpretrain's converter for DeiT3: python "
        f"{mmpretrain_converter('DeiT3')} {file} CONVERTED.pth, and give "
        'CONVERTED.pth as --pretrained.')


def test_timm_keys_at_the_top_level_name_the_hosts_type_flag(tmp_path):
    """Loaded in part (attention and norms only) into mmpretrain's ViT:
    refused, with --type mae, not 'videomae for a video backbone'."""
    line, file = _refusal(
        TINY_IMAGE_CONFIG,
        dict(type='VisionTransformer', arch='deit-tiny', img_size=32),
        _timm_vit(), tmp_path)
    assert line.startswith(f'{file} is in the key layout of the official '
                           'VideoMAE/MAE/DeiT/AdaptFormer code or timm '
                           "('patch_embed.proj.weight')"), line
    assert line.endswith(
        f"{file} CONVERTED.pth --type mae (mmpretrain's VisionTransformer: "
        'MAE, DeiT and timm ViTs), and give CONVERTED.pth as --pretrained.')


def test_a_converted_deit_file_is_taken(tmp_path):
    """What convert_official.py writes for it (``backbone.*`` under
    ``'state_dict'``) is not refused."""
    file = str(tmp_path / 'converted.pth')
    torch.save(
        dict(state_dict={'backbone.cls_token': torch.zeros(1, 1, 8)}), file)
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone = dict(type='DistilledVisionTransformer', arch='tiny')
    key, init_cfg = set_pretrained_backbone(cfg, file)
    assert key == 'model.backbone.init_cfg'
    assert init_cfg == dict(
        type='Pretrained', checkpoint=file, prefix='backbone.')
