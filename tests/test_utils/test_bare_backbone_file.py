# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A backbone saved without its ``backbone.`` prefix (``blocks.0...``, a
bare ``state_dict()`` of the backbone) given as an AdaptFormer model's
checkpoint to the toolboxes' own loading APIs.

mmaction2's ``init_recognizer`` (and MMEngine's ``load_checkpoint``) took
it: none of its keys is the model's, no wrapper saw a key to name, and the
non-strict load only warned, so the model predicted with a random backbone,
adapters and head. It is now refused as the backbone checkpoint it is, in
the words ``init_model`` already used."""
import pytest
import torch
from config_writers import pretrained_cfg, video_data_cfg, write_config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


@pytest.fixture
def bare_backbone(tmp_path, stock_video_backbone):
    state = torch.load(
        stock_video_backbone, map_location='cpu',
        weights_only=True)['state_dict']
    path = str(tmp_path / 'bare.pth')
    torch.save(
        {
            key[len('backbone.'):]: value
            for key, value in state.items() if key.startswith('backbone.')
        }, path)
    return path


@pytest.fixture
def config(tmp_path, tiny_video_data, stock_video_backbone):
    return write_config(
        tmp_path / 'adaptformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + pretrained_cfg(stock_video_backbone))


def _expected(path):
    return (f"^{path} holds neither the model's 8 adapter tensors \\(e.g. "
            r'backbone\.blocks\.0\.adaptmlp\.down_proj\.weight\) nor its '
            r'head \(cls_head\.\*\) tensors .*It is a backbone checkpoint')


def test_init_recognizer_refuses_a_bare_backbone(bare_backbone, config,
                                                 clean_loggers):
    from mmaction.apis import init_recognizer
    with pytest.raises(StateDictMismatchError, match=_expected(bare_backbone)):
        init_recognizer(config, bare_backbone, device='cpu')


def test_load_checkpoint_refuses_a_bare_backbone(bare_backbone, config,
                                                 clean_loggers):
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(StateDictMismatchError, match=_expected(bare_backbone)):
        load_checkpoint(model, bare_backbone, map_location='cpu')
    assert all(
        torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_init_model_still_names_it_a_backbone(bare_backbone, config,
                                              clean_loggers):
    """Guards kept behaviour (passes on the code before this change too):
    naming a VPT file's prompts as of another method must not take this
    file, whose every tensor the model lacks, for one."""
    from mmadaptformer.apis import init_model
    with pytest.raises(StateDictMismatchError) as info:
        init_model(config, bare_backbone, device='cpu')
    text = str(info.value)
    assert 'It is a backbone checkpoint' in text, text
    assert 'another method' not in text, text
