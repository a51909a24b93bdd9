# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``convert_state_dict(source_type='mmaction2')``: what of an MMAction2
VideoMAE checkpoint is kept, rebuilt, dropped and refused."""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope
from test_convert_zoo import fresh_vit, zoo_state_dict

import mmadaptformer  # noqa: F401  (mmaction2's models import)
from mmadaptformer.models.converters import (ConversionError,
                                             SourceTypeMismatchError,
                                             convert_state_dict,
                                             detect_source_type)


def test_a_zoo_state_dict_is_detected_and_keeps_its_backbone():
    state = zoo_state_dict()
    assert detect_source_type(state) == 'mmaction2'
    result = convert_state_dict(state, img_size=32, num_frames=4)
    assert result.source_type == 'mmaction2'
    assert sorted(result.dropped) == [
        'backbone.pos_embed', 'cls_head.fc_cls.bias', 'cls_head.fc_cls.weight'
    ]
    out = result.state_dict
    for key, value in state.items():
        if key.startswith('backbone.') and key != 'backbone.pos_embed':
            assert out[key] is value, key
    model = fresh_vit()
    model.load_state_dict({k[len('backbone.'):]: v
                           for k, v in out.items()},
                          strict=True)
    assert torch.equal(out['backbone.pos_embed'], fresh_vit().pos_embed)


def test_the_rebuilt_vitb_table_is_the_one_an_8_frame_vit_holds():
    """ViT-B/16 at 224: the zoo's 1568-token table becomes the 784-token
    one of a freshly built 8-frame mmaction2 VisionTransformer."""
    init_default_scope('mmaction')
    vit = dict(
        type='VisionTransformer',
        embed_dims=768,
        depth=1,
        num_heads=12,
        qkv_bias=True)
    zoo = MODELS.build(dict(vit, num_frames=16)).state_dict()
    assert zoo['pos_embed'].shape == (1, 1568, 768)
    result = convert_state_dict(zoo, img_size=224, num_frames=8)
    target = MODELS.build(dict(vit, num_frames=8))
    assert torch.equal(result.state_dict['backbone.pos_embed'],
                       target.pos_embed)
    assert target.pos_embed.shape == (1, 784, 768)


def test_a_learned_pos_embed_of_another_length_is_refused():
    state = zoo_state_dict(use_learnable_pos_emb=True)
    with pytest.raises(ConversionError) as error:
        convert_state_dict(state, img_size=32, num_frames=4)
    assert str(error.value).startswith(
        'backbone.pos_embed (1, 32, 64) is a learned position embedding '
        '(use_learnable_pos_emb=True; it is not the fixed sine-cosine '
        'table of 32 tokens), of 32 tokens, but img_size=32, num_frames=4 '
        '(patch 16, tubelet 2) needs 8.')
    # Its own length keeps it as trained.
    kept = convert_state_dict(state, img_size=32, num_frames=16)
    assert kept.state_dict['backbone.pos_embed'] is state['backbone.pos_embed']
    assert 'use_learnable_pos_emb=True' in ' '.join(kept.notes)


def test_a_half_precision_table_is_still_the_fixed_one():
    state = {k: v.half() for k, v in zoo_state_dict().items()}
    result = convert_state_dict(state, img_size=32, num_frames=4)
    table = result.state_dict['backbone.pos_embed']
    assert table.dtype == torch.float16
    assert torch.equal(table, fresh_vit().pos_embed.half())


def test_what_an_mmaction2_file_cannot_become():
    state = zoo_state_dict()
    with pytest.raises(SourceTypeMismatchError) as error:
        convert_state_dict(state, source_type='mae')
    assert error.value.detected == 'mmaction2'
    with pytest.raises(ConversionError, match='keeps its norms as they are'):
        convert_state_dict(state, final_norm='pooled')
    with_adapters = dict(state)
    with_adapters['backbone.blocks.0.adaptmlp.down_proj.weight'] = \
        torch.zeros(8, 64)
    with pytest.raises(ConversionError, match='trained adapters'):
        convert_state_dict(with_adapters, img_size=32, num_frames=4)
    extra = dict(state, **{'neck.weight': torch.zeros(1)})
    with pytest.raises(ConversionError, match='neck.weight'):
        convert_state_dict(extra, img_size=32, num_frames=4)


def test_an_image_vit_in_the_toolboxes_layout_needs_no_conversion():
    state = {'backbone.patch_embed.projection.weight': torch.zeros(8, 3, 4, 4)}
    with pytest.raises(ConversionError, match='needs no conversion'):
        detect_source_type(state)


def test_a_size_that_is_no_multiple_of_the_patch_or_tubelet_is_refused():
    with pytest.raises(ConversionError) as error:
        convert_state_dict(zoo_state_dict(), img_size=33, num_frames=4)
    assert str(error.value).startswith(
        'img_size=33 and num_frames=4 must be multiples of the patch size '
        '16 and tubelet size 2 read from '
        "'backbone.patch_embed.projection.weight'"), str(error.value)


def test_a_zoo_recognizer_given_as_another_type_is_named_with_its_head(
        tmp_path, capsys):
    """A zoo recognizer given as another --type was said to have "no
    adapters and no classifier head", though it holds a cls_head; now the
    cls_head is named and the file is called what it is."""
    from helpers import load_tool
    from test_convert_zoo import save_zoo_checkpoint
    zoo = str(tmp_path / 'zoo.pth')
    save_zoo_checkpoint(zoo)
    main = load_tool('model_converters/convert_official.py').main
    for source_type in ('mae', 'adaptformer-video'):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit:
            main([zoo, str(tmp_path / 'out.pth'), '--type', source_type])
        assert exit.value.code == 2
        message = capsys.readouterr().err
        assert 'no classifier head' not in message
        assert (
            "in the toolboxes' own layout "
            "('backbone.patch_embed.projection.weight' (64, 3, 2, 16, 16)) "
            'and an MMAction2 cls_head (2 tensors, e.g. '
            "'cls_head.fc_cls.weight'), but no adapters: an MMAction2 "
            'recognizer, as its model zoo saves them. '
            f"Its key names say it is 'mmaction2', not {source_type!r}: "
            'pass --type mmaction2') in message
    assert not (tmp_path / 'out.pth').exists()
    # A bare backbone has no head: that is still what is said.
    state = {
        k[len('backbone.'):]: v
        for k, v in zoo_state_dict().items() if k.startswith('backbone.')
    }
    with pytest.raises(
            SourceTypeMismatchError,
            match='but no adapters and no classifier head'):
        convert_state_dict(state, source_type='mae')
