# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``pos_embed`` refusal names every input the file may have been made for.

Before, a file of another frame size was read as one of other frames
whenever its token count allowed it: a VideoMAE file converted for 4 frames
of 64 px, given to the 4-frame 32 px tiny model, was said to be made for
``num_frames=16, img_size=32``, and an 8x224 file on an 8x112 model (the
benchmark config's input) for ``num_frames=32, img_size=112``.
"""
import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_state_dict)


def _stock_backbone(**sizes):
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG).model.backbone
    cfg.update(sizes)
    return MODELS.build(cfg)


def _refusal(model, state_dict) -> str:
    with pytest.raises(StateDictMismatchError) as info:
        check_state_dict(model, state_dict, source='other.pth')
    return str(info.value)


def test_a_file_of_another_frame_size_is_named_as_one():
    model = _stock_backbone()  # 4 frames of 32 px: 8 tokens
    message = _refusal(model, _stock_backbone(img_size=64).state_dict())
    assert ('holds 32 position tokens in the checkpoint (num_frames=16, '
            'img_size=32 or num_frames=4, img_size=64 with the same patch '
            'and tubelet sizes)') in message
    assert '--num-frames 4 --img-size 32 (' in message


def test_a_224px_file_on_a_112px_model_of_as_many_frames():
    model = _stock_backbone(img_size=112, num_frames=8, depth=1)
    state = _stock_backbone(img_size=224, num_frames=8, depth=1).state_dict()
    message = _refusal(model, state)
    assert ('holds 784 position tokens in the checkpoint (num_frames=32, '
            'img_size=112 or num_frames=8, img_size=224 ') in message
    assert 'SRC DST --num-frames 8 --img-size 112 (' in message


def test_a_file_converted_with_the_defaults_on_a_model_of_other_both():
    """784 tokens on the 4-frame 32 px model: the converter's default
    8x224 (which differs in frames and size) is named, beside the reading
    of the model's frame size."""
    model = _stock_backbone()
    state = _stock_backbone(img_size=224, num_frames=8, depth=1).state_dict()
    state = {k: v for k, v in state.items() if not k.startswith('blocks.')}
    state.update({
        k: v
        for k, v in model.state_dict().items() if k.startswith('blocks.')
    })
    message = _refusal(model, state)
    assert ('holds 784 position tokens in the checkpoint (num_frames=392, '
            'img_size=32 or num_frames=8, img_size=224 with the same patch '
            'and tubelet sizes)') in message
