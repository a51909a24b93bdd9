# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A full AdaptFormer checkpoint of a deeper backbone loaded into a
shallower model.

MMEngine's ``load_checkpoint`` refused it as adapters "saved with other
adapter settings: layers (model.backbone.layers): checkpoint ['blocks.0',
'blocks.1'], this model [0] (every block)", though the config's ``layers``
were the same: the backbone's depth differs. It now says so."""
import pytest
from checkpoint_makers import save_as_built_checkpoint
from config_writers import write_config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def test_adapters_of_a_deeper_backbone_name_its_depth(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    config = write_config(tmp_path / 'two.py', TINY_ADAPTFORMER_VIDEO_CONFIG)
    full = save_as_built_checkpoint(config, tmp_path / 'two.pth')
    shallow = write_config(
        tmp_path / 'one.py', config,
        'model = dict(backbone=dict(backbone=dict(depth=1)))\n')
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(shallow).model)
    with pytest.raises(StateDictMismatchError) as info:
        load_checkpoint(model, full, map_location='cpu')
    text = str(info.value)
    assert text.startswith(
        f'The state dict of {full} holds adapter tensors that do not fit '
        'this model\'s '
        'adapters: it was saved on a backbone of another depth or layout: '
        'it holds 13 backbone tensors this model lacks '
        '(backbone.blocks.1.norm1.weight, '), text
    assert 'Not in this model (4): backbone.blocks.1.adaptmlp.' in text, text
    assert 'layers (model.backbone.layers)' not in text, text
