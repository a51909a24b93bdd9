# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint of a VPT config given to ``tools/test.py``
with an AdaptFormer config of the same backbone.

It said "Was it trained with another adapter configuration or AdapterHook
mode ...?", as for adapters of other settings. The file holds none of the
model's adapters but prompts the model lacks: it now says that it was
trained with another method, and names the modes apart."""
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, video_data_cfg, write_config
from other_method_checkpoints import VPT_CFG, vpt_adapter_only
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool


def test_test_py_says_a_vpt_file_is_of_another_method(tmp_path,
                                                      tiny_video_data):
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    data = video_data_cfg(tiny_video_data)
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          data + pretrained_cfg(stock))
    vpt = write_config(tmp_path / 'vpt.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       data + VPT_CFG.format(stock=stock))
    prompts = vpt_adapter_only(vpt, tmp_path / 'prompts.pth')
    proc = run_tool(
        ['test.py', config, prompts, '--work-dir', tmp_path / 'work'],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Epoch(test)'])
    assert line.startswith(f'StateDictMismatchError: {prompts}: '
                           'Adapter-only checkpoint does not fit this '
                           'model: 8 missing trainable keys '), line
    assert "1 unexpected key ['backbone.prompt_embeddings']. It holds none " \
        "of this model's 8 adapter tensors (e.g. backbone.blocks.0." \
        'adaptmlp.down_proj.weight) but 1 trained tensor this model lacks: ' \
        'it was trained with another method or model (e.g. a VPT ' \
        "config's prompts where this config has AdaptFormer's adapters, or " \
        'the reverse), not with other settings of this one. It was saved ' \
        "in AdapterHook mode 'linear_probe', this config trains in mode " \
        "'adaptformer'. Use the config it was trained with." in line, line
