# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A position embedding of another image size, which its host does not
resize when it loads, is named as such, not as a video ViT's.

HiViT (mmpretrain) and TimeSformer (mmaction2, one table per frame) keep a
``pos_embed`` of another length as it is: their own load skips it (with a
warning) and the frozen backbone would run on a random one. The refusal
said "A video ViT has (img_size / patch size)^2 x (num_frames / tubelet
size) of them, so the file was made for another frame size or number of
frames" and sent the user to the converter, which takes video ViTs only.
"""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_state_dict)


def _hivit(size: int) -> dict:
    return dict(
        type='mmpretrain.HiViT',
        arch=dict(embed_dims=32, depths=[1, 1, 2], num_heads=2),
        img_size=size)


def _assert_image_size_cause(message: str, host: str) -> None:
    assert (f'and {host} does not resize it when it loads: the file was '
            'saved for another image size. Build the model with the '
            'img_size the file was saved for.') in message
    assert 'video ViT' not in message and 'convert_official' not in message


def test_adaptformer_on_hivit_names_another_image_size(tmp_path):
    """Through MMEngine's ``init_weights``: HiViT built for 64 px with
    ``init_cfg=Pretrained`` of a 32 px HiViT, as the host of AdaptFormer."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    stock = MODELS.build(_hivit(32))
    stock.init_weights()
    path = str(tmp_path / 'hivit32.pth')
    torch.save(
        dict(state_dict={
            f'backbone.{k}': v
            for k, v in stock.state_dict().items()
        }), path)
    host = dict(
        _hivit(64),
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    model = MODELS.build(
        dict(type='AdaptFormer', backbone=host, adapter=dict(bottleneck=8)))
    with pytest.raises(StateDictMismatchError) as info:
        model.init_weights()
    message = str(info.value)
    assert message.startswith(f'Pretrained checkpoint {path} of '
                              'model.backbone.backbone.init_cfg')
    assert 'pos_embed holds 4 position tokens in the checkpoint and 16 in ' \
        'the model' in message
    assert '  pos_embed: (1, 4, 32) vs (1, 16, 32)' in message
    _assert_image_size_cause(message, 'HiViT')


def test_timesformer_names_another_image_size():
    """TimeSformer's table is per frame (its frames are in
    ``time_embed``): a 48 px file on a 32 px model is one of another image
    size, whatever its number of frames."""
    init_default_scope('mmaction')

    def timesformer(size: int):
        return MODELS.build(
            dict(
                type='TimeSformer',
                num_frames=4,
                img_size=size,
                patch_size=16,
                embed_dims=32,
                num_heads=2,
                num_transformer_layers=1))

    with pytest.raises(StateDictMismatchError) as info:
        check_state_dict(
            timesformer(32),
            timesformer(48).state_dict(),
            source='timesformer48.pth')
    message = str(info.value)
    assert 'pos_embed holds 10 position tokens in the checkpoint and 5 in ' \
        'the model' in message
    _assert_image_size_cause(message, 'TimeSformer')
