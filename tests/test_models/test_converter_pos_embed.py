# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``pos_embed`` saved in an official video or VideoMAE checkpoint.

VideoMAE and the official ``main_video.py`` keep the fixed sine-cosine
table out of their state dicts, and the converter rebuilds it for
``--num-frames``/``--img-size``. A checkpoint trained with
``use_learnable_pos_emb=True`` (or written by a fork that saves the fixed
table) holds one. Before, that saved table was moved into the result
unchecked: one of another length than the target's was written with exit
status 0 and no word, a fixed table was not rebuilt, and the model refused
the file at load. Now it is treated as an MMAction2 file's table is: the
fixed table is rebuilt for the target, a learned one of the target's length
is kept (with the setting it needs), and one of another length is refused
naming its key, its tokens and the tokens the target needs.
"""
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from helpers import run_tool
from test_converters import (DIMS, FRAMES, IMG, TOOL, VIDEO, VIDEO_TOKENS,
                             _inputs, _save_official, official_video,
                             reference_video_logits, video_classifier,
                             video_logits, videomae_pretrain)
from torch.testing import assert_close

from mmadaptformer.models.converters import ConversionError, convert_state_dict
from mmadaptformer.models.converters.common import sinusoid_encoding

# Eight frames of the tiny input: twice the tokens the tiny configs take.
OTHER_TOKENS = 2 * VIDEO_TOKENS


def _learned(tokens, seed=5):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, tokens, DIMS, generator=generator) * 0.02


def _with_pos_embed(state_dict, table, key='pos_embed'):
    out = OrderedDict(state_dict)
    out[key] = table
    return out


def test_a_learned_table_of_another_length_is_refused_by_name():
    state = _with_pos_embed(official_video(), _learned(OTHER_TOKENS))
    with pytest.raises(ConversionError) as error:
        convert_state_dict(state, img_size=IMG, num_frames=FRAMES)
    assert str(error.value).startswith(
        f'pos_embed (1, {OTHER_TOKENS}, {DIMS}) is a learned position '
        'embedding')
    assert (f'img_size={IMG}, num_frames={FRAMES} (patch 16, tubelet 2) '
            f'needs {VIDEO_TOKENS}') in str(error.value)


def test_a_videomae_encoder_table_is_named_by_its_source_key():
    state = _with_pos_embed(videomae_pretrain(), _learned(OTHER_TOKENS),
                            'encoder.pos_embed')
    with pytest.raises(ConversionError, match=r'^encoder\.pos_embed \(1, '):
        convert_state_dict(state, img_size=IMG, num_frames=FRAMES)


def test_a_saved_fixed_table_is_rebuilt_for_the_target():
    sd = official_video()
    state = _with_pos_embed(sd, sinusoid_encoding(OTHER_TOKENS, DIMS))
    result = convert_state_dict(state, img_size=IMG, num_frames=FRAMES)
    assert 'pos_embed' in result.dropped
    model = video_classifier()
    model.load_state_dict(result.state_dict, strict=True)
    x = _inputs(VIDEO)
    with torch.no_grad():
        assert_close(
            video_logits(model, x),
            reference_video_logits(sd, x),
            atol=1e-5,
            rtol=1e-5)


def test_a_learned_table_of_the_target_length_is_kept_with_its_setting():
    table = _learned(VIDEO_TOKENS)
    state = _with_pos_embed(official_video(), table)
    result = convert_state_dict(state, img_size=IMG, num_frames=FRAMES)
    assert result.state_dict['backbone.pos_embed'] is table
    assert 'use_learnable_pos_emb=True' in ' '.join(result.notes)


def test_cli_refuses_a_learned_table_of_another_length(tmp_path):
    state = _with_pos_embed(official_video(), _learned(OTHER_TOKENS))
    src = _save_official(tmp_path / 'checkpoint-89.pth', state)
    dst = tmp_path / 'converted.pth'
    proc = run_tool(
        [TOOL, src, dst, '--img-size', IMG, '--num-frames', FRAMES],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 1, proc.stdout
    assert f'Error: cannot convert {src}: pos_embed (1, {OTHER_TOKENS}, ' \
        in proc.stdout
    assert not osp.exists(dst)
