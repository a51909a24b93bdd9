# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint that is not there, or is a folder, is named before the
model is built for it (building a ViT-B takes seconds, and its log lines
came before the refusal)."""
import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG
from mmengine.config import Config

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, init_model


def _unbuildable():
    """The tiny config with a backbone no registry holds: building its
    model fails, so a refusal of the checkpoint shows the build was not
    reached."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone.backbone.type = 'NoSuchVisionTransformer'
    return cfg


@pytest.mark.parametrize('make', ['init_model', 'ModelInferencer', 'add_task'])
@pytest.mark.parametrize('kind', ['missing', 'folder'])
def test_the_checkpoint_is_named_before_the_model_is_built(
        make, kind, tmp_path, clean_loggers):
    """Before, each of these built the model first: here they raised the
    registry's KeyError for the backbone type, not the checkpoint's
    error."""
    checkpoint = tmp_path / 'epoch_1.pth'
    if kind == 'folder':
        checkpoint.mkdir()
    load = dict(
        init_model=init_model,
        ModelInferencer=ModelInferencer,
        add_task=lambda *args: MultiTaskRecognizer().add_task('t', *args),
    )[make]
    with pytest.raises(Exception) as info:
        load(_unbuildable(), str(checkpoint))
    said = str(info.value)
    assert 'NoSuchVisionTransformer' not in said
    if kind == 'folder':
        assert f'Checkpoint file {checkpoint} is a folder, not a checkpoint ' \
            'file: give the .pth file in it' in said
    else:
        assert f'Checkpoint file {checkpoint} does not exist.' in said
