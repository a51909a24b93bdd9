# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Adapter-only files of another method: VPT prompts for the tiny config."""
import torch
from adapter_only_files import built_with_adapter_only

#: The tiny AdaptFormer config's backbone, wrapped by VPT instead (format
#: it with ``stock``, the pretrained backbone file).
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


def vpt_adapter_only(config: str, path) -> str:
    """An adapter-only checkpoint of ``config``'s VPT model, as AdapterHook
    writes it, saved as ``path``; returns ``path`` as a str."""
    torch.save(built_with_adapter_only(config)[2], path)
    return str(path)
