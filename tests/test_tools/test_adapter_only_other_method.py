# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint of a VPT config given to ``tools/test.py``
with an AdaptFormer config of the same backbone.

It said "Was it trained with another adapter configuration or AdapterHook
mode ...?", as for adapters of other settings. The file holds none of the
model's adapters but prompts the model lacks: it now says that it was
trained with another method, and names the modes apart."""
import torch
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

#: The tiny AdaptFormer config's backbone, wrapped by VPT instead.
VPT_CFG = '''
model = dict(backbone=dict(_delete_=True, type='VPT', backbone=dict(
    type='VisionTransformer', img_size=32, patch_size=16, embed_dims=64,
    depth=2, num_heads=2, mlp_ratio=2, qkv_bias=True, num_frames=4,
    tubelet_size=2, norm_cfg=dict(type='LN', eps=1e-6),
    init_cfg=dict(type='Pretrained', checkpoint={stock!r},
                  prefix='backbone.')),
    num_prompts=1, deep=True))
custom_hooks = [dict(type='AdapterHook', mode='linear_probe',
    extra_trainable=[r'prompt_embeddings', r'^backbone\\.fc_norm\\.'],
    adapter_only_checkpoint=True)]
'''


def _vpt_adapter_only(config: str, path: str) -> str:
    """An adapter-only checkpoint of ``config``'s VPT model, as AdapterHook
    writes it."""
    from mmengine.config import Config

    from mmadaptformer.engine import (build_model_and_plan,
                                      make_adapter_checkpoint)
    from mmadaptformer.utils.fingerprint import state_fingerprints
    torch.manual_seed(0)
    model, plan = build_model_and_plan(Config.fromfile(config))
    frozen = set(plan.frozen_keys)
    fingerprints = state_fingerprints(
        (k, v) for k, v in model.state_dict().items() if k in frozen)
    checkpoint = make_adapter_checkpoint(
        dict(state_dict=model.state_dict(), meta={}),
        plan,
        fingerprints,
        model=model)
    torch.save(checkpoint, path)
    return str(path)


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
    prompts = _vpt_adapter_only(vpt, tmp_path / 'prompts.pth')
    proc = run_tool(
        ['test.py', config, prompts, '--work-dir', tmp_path / 'work'],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Epoch(test)'])
    assert line.startswith(f'StateDictMismatchError: {prompts}: '
                           'Adapter-only checkpoint does not fit this '
                           'model: missing trainable keys '), line
    assert "unexpected keys ['backbone.prompt_embeddings']. It holds none " \
        "of this model's 8 adapter tensors (e.g. backbone.blocks.0." \
        'adaptmlp.down_proj.weight) but 1 trained tensor this model lacks: ' \
        'it was trained with another method or model (e.g. a VPT ' \
        "config's prompts where this config has AdaptFormer's adapters, or " \
        'the reverse), not with other settings of this one. It was saved ' \
        "in AdapterHook mode 'linear_probe', this config trains in mode " \
        "'adaptformer'. Use the config it was trained with." in line, line
