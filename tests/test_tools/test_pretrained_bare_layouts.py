# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--pretrained`` with an official or timm ViT file whose weights sit at
the top level (not nested under ``'model'``): the refusal names the
converter command that fits the file, as it does for nested weights.

Before, a top-level file got the ``--type`` of the config's toolbox alone:
``--type mae`` for a VideoMAE file on an image config and ``--type
videomae`` for an MAE file on a video config, both of which the converter
refuses, and a ``--pretrained`` conversion for an official AdaptFormer
model, whose adapters ``--pretrained`` would drop.
"""
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, load_tool)
from mmengine.config import Config

train_tool = load_tool('train.py')

_VIDEO_PATCH = torch.zeros(8, 3, 2, 16, 16)
_IMAGE_PATCH = torch.zeros(8, 3, 16, 16)


def _refusal(tmp_path, config, weights):
    ckpt = str(tmp_path / 'top_level.pth')
    torch.save(weights, ckpt)
    args = train_tool.parse_args([config, '--pretrained', ckpt])
    with pytest.raises(ValueError) as refused:
        train_tool.merge_args(Config.fromfile(config), args)
    return ckpt, str(refused.value)


@pytest.mark.parametrize(
    'config, weights, expected',
    [(TINY_VIDEO_CONFIG, {
        'patch_embed.proj.weight': _IMAGE_PATCH
    }, "It is an image checkpoint (a Conv2d patch embedding, 'patch_embed."
      "proj.weight' of shape (8, 3, 16, 16)), but this backbone is "
      "mmaction2's VisionTransformer, which takes video weights"),
     (TINY_IMAGE_CONFIG, {
         'encoder.patch_embed.proj.weight': _VIDEO_PATCH
     }, 'It is a video checkpoint (VideoMAE pre-training keys '
      "('encoder.patch_embed.proj.weight')), but this backbone is "
      "mmpretrain's VisionTransformer, which takes image weights"),
     (TINY_ADAPTFORMER_VIDEO_CONFIG, {
         'patch_embed.proj.weight': _VIDEO_PATCH,
         'blocks.0.adaptmlp.down_proj.weight': torch.zeros(2, 8)
     }, 'It holds trained AdaptFormer adapters (an official AdaptFormer '
      'model): convert it with python tools/model_converters/'
      'convert_official.py {} CONVERTED.pth --type adaptformer-video and '
      'give CONVERTED.pth as the checkpoint')],
    ids=['image-for-video', 'video-for-image', 'adaptformer'])
def test_top_level_vit_weights_get_the_advice_that_fits_them(
        tmp_path, config, weights, expected):
    ckpt, message = _refusal(tmp_path, config, weights)
    # What the file is, then what to do with it.
    assert f'{ckpt} is in the key layout of the official' in message
    assert expected.format(ckpt) in message
    # No --type for a file of the other modality; the model's own for an
    # AdaptFormer model.
    assert message.count('--type') == ('but this backbone' not in expected)


@pytest.mark.parametrize(
    'config, weights, flag', [
        (TINY_VIDEO_CONFIG, {
            'encoder.patch_embed.proj.weight': _VIDEO_PATCH
        }, '--type videomae'),
        (TINY_IMAGE_CONFIG, {
            'patch_embed.proj.weight': _IMAGE_PATCH
        }, '--type mae'),
    ],
    ids=['videomae-for-video', 'mae-for-image'])
def test_top_level_vit_weights_of_the_backbones_modality_keep_their_command(
        tmp_path, config, weights, flag):
    """Guard of kept behaviour: a file that fits the backbone is still told
    the one command that converts it."""
    ckpt, message = _refusal(tmp_path, config, weights)
    assert (f'Convert it first: python tools/model_converters/'
            f'convert_official.py {ckpt} CONVERTED.pth {flag} (') in message
    assert message.count('--type') == 1
    assert message.endswith('and give CONVERTED.pth as --pretrained.')
