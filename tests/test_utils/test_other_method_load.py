# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint of another method (a VPT config's prompts given with an
AdaptFormer config of the same backbone and head, or the reverse) loaded
through the toolboxes' own APIs: ``mmengine.runner.load_checkpoint``,
mmaction2's ``init_recognizer`` (``tools/test.py`` is tested in
``tests/test_tools/test_adapter_only_other_method.py``).

It was called "a checkpoint of a model without these adapters (a stock or
fully fine-tuned model, a converted VideoMAE or MAE checkpoint)", with the
advice to evaluate it with the stock model's config; it now names the
tensors the model lacks and says it was trained with another method."""
import pytest
import torch
from adapter_only_files import built_with_adapter_only
from config_writers import pretrained_cfg, video_data_cfg, write_config
from other_method_checkpoints import VPT_CFG, vpt_adapter_only
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


@pytest.fixture
def configs(tmp_path, tiny_video_data, stock_video_backbone):
    data = video_data_cfg(tiny_video_data)
    adaptformer = write_config(tmp_path / 'adaptformer.py',
                               TINY_ADAPTFORMER_VIDEO_CONFIG,
                               data + pretrained_cfg(stock_video_backbone))
    vpt = write_config(tmp_path / 'vpt.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       data + VPT_CFG.format(stock=stock_video_backbone))
    return adaptformer, vpt


def _model(config):
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    return model


def test_load_checkpoint_names_a_vpt_file_as_of_another_method(
        tmp_path, configs, clean_loggers):
    from mmengine.runner import load_checkpoint
    adaptformer, vpt = configs
    prompts = vpt_adapter_only(vpt, tmp_path / 'prompts.pth')
    model = _model(adaptformer)
    before = model.state_dict()['backbone.blocks.0.adaptmlp.up_proj.weight']
    with pytest.raises(StateDictMismatchError) as info:
        load_checkpoint(model, prompts, map_location='cpu')
    text = str(info.value)
    assert text.startswith(
        f"{prompts} holds none of the model's 8 adapter tensors (e.g. "
        'backbone.blocks.0.adaptmlp.down_proj.weight) but 1 trained tensor '
        'this model lacks (backbone.prompt_embeddings): it was trained with '
        'another method or model'), text
    assert 'stock' not in text, text
    assert text.endswith('Nothing of it was loaded.'), text
    assert torch.equal(
        model.state_dict()['backbone.blocks.0.adaptmlp.up_proj.weight'],
        before)


def test_init_recognizer_names_an_adaptformer_file_given_to_vpt(
        tmp_path, configs, clean_loggers):
    from mmaction.apis import init_recognizer
    adaptformer, vpt = configs
    adapters = str(tmp_path / 'adapters.pth')
    torch.save(built_with_adapter_only(adaptformer)[2], adapters)
    with pytest.raises(StateDictMismatchError) as info:
        init_recognizer(vpt, adapters, device='cpu')
    text = str(info.value)
    assert text.startswith(
        f"{adapters} holds none of the model's 1 prompt tensors (e.g. "
        'backbone.prompt_embeddings) but 8 trained tensors this model lacks '
        '(backbone.blocks.0.adaptmlp.down_proj.weight, '), text
    assert 'it was trained with another method or model' in text, text
    assert 'stock' not in text, text


def test_a_stock_checkpoint_with_tensors_the_model_lacks_is_a_stock_one(
        tmp_path, configs, clean_loggers):
    """A stock model's checkpoint with its head and a tensor the config's
    model lacks (``backbone.norm`` where the AdaptFormer config has
    ``fc_norm``, say) carries no wrapper's record: it keeps the stock
    model's advice, not "trained with another method"."""
    from mmengine.runner import load_checkpoint
    adaptformer, _ = configs
    model = _model(adaptformer)
    state = {
        k: v
        for k, v in model.state_dict().items()
        if 'adaptmlp' not in k and not isinstance(v, dict)
    }
    state['backbone.extra_norm.weight'] = torch.ones(2)
    stock = str(tmp_path / 'stock.pth')
    torch.save(dict(state_dict=state, meta={}), stock)
    with pytest.raises(StateDictMismatchError) as info:
        load_checkpoint(model, stock, map_location='cpu')
    text = str(info.value)
    assert 'another method' not in text, text
    assert 'a stock or fully fine-tuned model' in text, text
