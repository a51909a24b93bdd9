# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``convert_official.py --type`` against every checkpoint layout.

Every layout converts the blocks of the others, so a ``--type`` that does
not fit used to pass for some pairs: an official AdaptFormer video
checkpoint as ``--type videomae`` became a "backbone-only" file holding
trained adapters, which ``--pretrained`` then refused. Silent before:
official video (both heads) as ``videomae``, official image (split and
fused qkv) as ``mae``, a plain VideoMAE backbone as ``adaptformer-video``
and an MAE encoder as ``adaptformer-image``. A type given must be the one
the key names say, for every pair.
"""
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from helpers import load_tool
from test_converters import (FRAMES, IMG, TOOL, _save_official, mae_pretrain,
                             official_convert_py, official_image,
                             official_video, videomae_pretrain)

# yapf: disable
from mmadaptformer.models.converters import (SOURCE_TYPES, ConversionError,
                                             SourceTypeMismatchError,
                                             convert_state_dict,
                                             detect_source_type)

# yapf: enable


def _videomae_backbone():
    """The VideoMAE encoder alone, ``encoder.`` stripped: a plain video
    backbone in the VideoMAE/timm layout."""
    return OrderedDict((k[len('encoder.'):], v)
                       for k, v in videomae_pretrain().items()
                       if k.startswith('encoder.'))


def _mae_encoder():
    return OrderedDict((k, v) for k, v in mae_pretrain().items()
                       if not k.startswith(('decoder', 'mask')))


def _fine_tuned(backbone):
    """A backbone fine-tuned with a linear classifier, no adapters."""
    sd = backbone()
    dims = sd['patch_embed.proj.weight'].shape[0]
    sd['head.weight'] = torch.randn(5, dims)
    sd['head.bias'] = torch.zeros(5)
    return sd


#: name -> (builder, the type its key names say, the types it converts as).
CHECKPOINTS = OrderedDict([
    ('official-video', (official_video, 'adaptformer-video')),
    ('official-video-linear-head', (lambda: official_video(head='linear'),
                                    'adaptformer-video')),
    ('official-image', (official_image, 'adaptformer-image')),
    ('official-image-fused-qkv', (lambda: official_image(fused_qkv=True),
                                  'adaptformer-image')),
    ('videomae-pretrain', (videomae_pretrain, 'videomae')),
    ('videomae-official-convert-py',
     (lambda: official_convert_py(videomae_pretrain()), 'videomae')),
    ('videomae-backbone', (_videomae_backbone, 'videomae')),
    ('mae-pretrain', (mae_pretrain, 'mae')),
    ('mae-encoder', (_mae_encoder, 'mae')),
    # A fine-tuned backbone (a head, no adapters) also converts as its
    # backbone type: the head is dropped and reported.
    ('videomae-fine-tuned', (lambda: _fine_tuned(_videomae_backbone),
                             'adaptformer-video', 'videomae')),
    ('mae-fine-tuned', (lambda: _fine_tuned(_mae_encoder), 'adaptformer-image',
                        'mae')),
])
PAIRS = [(name, given) for name in CHECKPOINTS for given in SOURCE_TYPES]
BACKBONE_NOTE = 'Note: Backbone-only checkpoint'
ADAPTER_NOTE = 'Note: Adapters found'


@pytest.fixture(scope='module')
def convert_main():
    return load_tool(TOOL).main


def test_the_checkpoints_cover_every_type():
    """A type added to SOURCE_TYPES needs a checkpoint here, so that its
    pairs with every other type are checked too."""
    assert {entry[1] for entry in CHECKPOINTS.values()} == set(SOURCE_TYPES)
    for name, (builder, actual, *_) in CHECKPOINTS.items():
        assert detect_source_type(builder()) == actual, name


@pytest.mark.parametrize(
    'name, given', PAIRS, ids=[f'{n}-as-{g}' for n, g in PAIRS])
def test_a_type_is_converted_only_as_the_type_its_keys_say(
        tmp_path, capsys, convert_main, name, given):
    builder, actual, *also = CHECKPOINTS[name]
    src = _save_official(tmp_path / 'official.pth', builder())
    dst = tmp_path / 'converted.pth'
    argv = [
        src,
        str(dst), '--type', given, '--img-size',
        str(IMG), '--num-frames',
        str(FRAMES)
    ]
    if given != actual and given not in also:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit:
            convert_main(argv)
        # A mistake of the command line's --type: exit status 2.
        assert exit.value.code == 2
        printed = capsys.readouterr()
        message = printed.err.strip().splitlines()[-1]
        assert (f': error: --type {given}: cannot convert {src}: The '
                f'checkpoint does not fit source type {given!r}') in message
        assert message.endswith(
            f' Its key names say it is {actual!r}, not {given!r}: pass '
            f'--type {actual}, or leave --type out to detect it.'), message
        # Refused before converting: no report, no file.
        assert 'Source type' not in printed.out
        assert not osp.exists(dst)

        with pytest.raises(SourceTypeMismatchError) as error:
            convert_state_dict(
                builder(), source_type=given, img_size=IMG, num_frames=FRAMES)
        assert (error.value.detected, error.value.source_type) == (actual,
                                                                   given)
        return

    convert_main(argv)
    out = capsys.readouterr().out
    assert f'Source type: {given}' in out
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['source_type'] == given
    backbone_only = given in ('videomae', 'mae')
    # A backbone-only file has no adapters and no head; a trained model
    # keeps those it has.
    trained = not backbone_only and 'adaptmlp' in str(list(builder()))
    assert (BACKBONE_NOTE in out) == backbone_only
    assert (ADAPTER_NOTE in out) == trained
    has_adapters = any('adaptmlp' in k for k in saved['state_dict'])
    assert has_adapters == trained
    if backbone_only:
        assert all(k.startswith('backbone.') for k in saved['state_dict'])


def test_an_adaptformer_video_checkpoint_as_videomae_says_what_it_holds(
        tmp_path, convert_main, capsys):
    """The walkthrough's command: it wrote a "backbone" with 8 adapter
    tensors and two contradicting notes; now one refusal that names them."""
    src = _save_official(tmp_path / 'official.pth', official_video())
    dst = tmp_path / 'converted.pth'
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        convert_main([
            src,
            str(dst), '--type', 'videomae', '--num-frames', '4', '--img-size',
            '32'
        ])
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        f': error: --type videomae: cannot convert {src}: The checkpoint does '
        "not fit source type 'videomae' (a VideoMAE backbone, without "
        'adapters; a classifier head is dropped): it has a Conv3d (video) '
        'patch embedding '
        "('patch_embed.proj.weight' (64, 3, 2, 16, 16)), trained adapters "
        "(8 tensors, e.g. 'blocks.0.adaptmlp.down_proj.weight') and a "
        "classifier head (5 tensors, e.g. 'head.0.running_mean'). "
        "Its key names say it is 'adaptformer-video', not 'videomae': pass "
        '--type adaptformer-video, or leave --type out to detect it.')
    assert not osp.exists(dst)


@pytest.mark.parametrize('given, actual', [('videomae', 'adaptformer-video'),
                                           ('mae', 'adaptformer-image')])
def test_a_backbone_type_refuses_adapters_even_when_no_type_is_told(
        given, actual):
    """Without a patch embedding the key names tell no type; adapters or
    a classifier still say that it is no backbone-only checkpoint."""
    sd = official_video() if given == 'videomae' else official_image()
    del sd['patch_embed.proj.weight']
    with pytest.raises(SourceTypeMismatchError) as error:
        convert_state_dict(
            sd, source_type=given, img_size=IMG, num_frames=FRAMES)
    assert error.value.detected == actual
    assert 'trained adapters' in str(error.value)
    assert f"pass source_type={actual!r}, or 'auto'" in str(error.value)


def test_a_layout_with_nothing_that_tells_a_type_says_so():
    from mmadaptformer.models.converters.detect import describe_layout
    text = describe_layout({'stem.weight': torch.zeros(1)})
    assert text == ('none of the keys that tell a source type (its first '
                    "keys: ['stem.weight'])")


def test_a_videomae_size_that_is_no_multiple_of_the_patch_is_refused():
    with pytest.raises(ConversionError) as error:
        convert_state_dict(videomae_pretrain(), img_size=33, num_frames=4)
    assert str(error.value).startswith(
        'img_size=33 and num_frames=4 must be multiples of the patch size '
        "16 and tubelet size 2 read from 'patch_embed.proj.weight'"), str(
            error.value)
