# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint of a VPT config given to ``tools/infer.py``
(and ``init_model``, which the Inferencers and ``add_task`` share) with an
AdaptFormer config of the same backbone.

It said "does not fit the model: it was probably saved from another
architecture (...) unexpected keys: backbone.prompt_embeddings. Is it a
checkpoint of this config's model?", while ``tools/test.py`` said it was
trained with another method. Both now say the latter, before loading."""
import pytest
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, video_data_cfg, write_config
from other_method_checkpoints import VPT_CFG, vpt_adapter_only
from refusal_lines import model_load_error
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils.state_dict_check import StateDictMismatchError

#: What tools/test.py says of it too.
OTHER_METHOD = (
    "1 unexpected key ['backbone.prompt_embeddings']. It holds none of this "
    "model's 8 adapter tensors (e.g. backbone.blocks.0.adaptmlp.down_proj."
    'weight) but 1 trained tensor this model lacks: it was trained with '
    "another method or model (e.g. a VPT config's prompts where this "
    "config has AdaptFormer's adapters, or the reverse), not with other "
    'settings of this one. It was saved in AdapterHook mode '
    "'linear_probe', this config trains in mode 'adaptformer'. Use the "
    'config it was trained with.')


@pytest.fixture(scope='module')
def prompts(tmp_path_factory, tiny_video_data):
    root = tmp_path_factory.mktemp('infer_other_method')
    stock = str(root / 'stock.pth')
    save_stock_video_checkpoint(stock)
    data = video_data_cfg(tiny_video_data)
    config = write_config(root / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          data + pretrained_cfg(stock))
    vpt = write_config(root / 'vpt.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       data + VPT_CFG.format(stock=stock))
    return dict(
        root=root,
        config=config,
        path=vpt_adapter_only(vpt, root / 'prompts.pth'),
        video=f"{tiny_video_data['videos']}/train_0_0.mp4")


def test_init_model_says_a_vpt_file_is_of_another_method(
        prompts, clean_loggers):
    from mmadaptformer.apis import init_model
    with pytest.raises(StateDictMismatchError) as info:
        init_model(prompts['config'], prompts['path'])
    text = str(info.value)
    assert text.startswith(
        f'{prompts["path"]}: Adapter-only checkpoint '
        'does not fit this model: 8 missing trainable keys '
        "['backbone.blocks.0.adaptmlp.down_proj.bias', "), text
    assert text.endswith(OTHER_METHOD), text


def test_infer_py_says_a_vpt_file_is_of_another_method(prompts):
    proc = run_tool(
        ['infer.py', prompts['config'], prompts['path'], prompts['video']],
        prompts['root'],
        check=False)
    line = model_load_error(proc, absent=[': adaptformer: '])
    assert OTHER_METHOD in line, line
    assert 'another architecture' not in line, line
