# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A fine-tuned ViT without adapters (VideoMAE or MAE fine-tuning, with a
classifier ``head``) is told apart as an AdaptFormer checkpoint by its head
alone. Before, it converted into a classifier without adapters and the
report said nothing of them: given as the checkpoint of an AdaptFormer
config, mmaction2's ``init_recognizer`` and mmpretrain's ``get_model``
loaded it with untrained adapters and a warning. The report now says that
it has no adapters and the two ways to use it.
"""
from collections import OrderedDict

import pytest
from helpers import run_tool
from test_converters import (DIMS, FRAMES, IMG, TOOL, _save_official, _Weights,
                             mae_pretrain, official_video, videomae_pretrain)

from mmadaptformer.models.converters import convert_state_dict


def videomae_finetuned():
    """VideoMAE ``modeling_finetune.py`` with mean pooling: no adapters."""
    w = _Weights(5)
    sd = OrderedDict((k[len('encoder.'):], v)
                     for k, v in videomae_pretrain().items()
                     if k.startswith('encoder.') and 'encoder.norm.' not in k)
    w.ln(sd, 'fc_norm')
    w.linear(sd, 'head', 400, DIMS)
    return sd


def mae_finetuned():
    """MAE ``models_vit.py`` with global pooling: no adapters."""
    w = _Weights(6)
    sd = OrderedDict((k, v) for k, v in mae_pretrain().items()
                     if not k.startswith(('decoder', 'mask_token', 'norm.')))
    w.ln(sd, 'fc_norm')
    w.linear(sd, 'head', 1000, DIMS)
    return sd


@pytest.mark.parametrize(
    'builder, source_type, backbone_type',
    [(videomae_finetuned, 'adaptformer-video', 'videomae'),
     (mae_finetuned, 'adaptformer-image', 'mae')],
    ids=['videomae', 'mae'])
def test_a_finetuned_vit_without_adapters_is_said_to_have_none(
        builder, source_type, backbone_type):
    result = convert_state_dict(builder(), img_size=IMG, num_frames=FRAMES)
    assert result.source_type == source_type
    notes = [n for n in result.notes if n.startswith('No adapters')]
    assert len(notes) == 1, result.notes
    assert 'not a trained AdaptFormer model' in notes[0]
    assert f'--type {backbone_type} for a backbone' in notes[0]


def test_a_checkpoint_with_adapters_gets_no_such_note():
    """Guard of kept behaviour: the adapter settings, not this note."""
    result = convert_state_dict(
        official_video(), img_size=IMG, num_frames=FRAMES)
    assert not [n for n in result.notes if n.startswith('No adapters')]
    assert any(n.startswith('Adapters found') for n in result.notes)


def test_cli_reports_no_adapters(tmp_path):
    src = _save_official(tmp_path / 'checkpoint.pth', videomae_finetuned())
    proc = run_tool([
        TOOL, src, tmp_path / 'out.pth', '--img-size', IMG, '--num-frames',
        FRAMES
    ],
                    cwd=tmp_path)
    assert 'Note: No adapters: the checkpoint is a fine-tuned ViT' \
        in proc.stdout
