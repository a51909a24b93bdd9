# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tiny VPT configs (``configs/tiny/tiny_vpt_{video,image}.py``) build
the models their comments describe: VPT-deep on the VideoMAE-style ViT
(prompts at the front, one set per block), VPT-shallow on the mmpretrain
ViT (prompts after the class token, carried from block to block), and
their ``AdapterHook`` trains the prompts and the head (and the video
``fc_norm``) only. Guards the configs added with them, so a broken config
breaks a test."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.models import VPT, plan_trainable

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'tiny')
# name: (scope, input, real tokens, tokens in front, deep, trainable count)
CASES = {
    # prompts 2 blocks x 2 x 64, fc_norm 2 x 64, head 64 x 2 + 2
    'tiny_vpt_video': ('mmaction', (1, 3, 4, 32, 32), 8, 0, True, 514),
    # prompts 1 x 2 x 64, head 64 x 2 + 2
    'tiny_vpt_image': ('mmpretrain', (1, 3, 32, 32), 5, 1, False, 258),
}


@pytest.mark.parametrize('name', list(CASES))
def test_tiny_vpt_config_prompts_every_block_and_trains_the_prompts(name):
    scope, shape, tokens, front, deep, trainable = CASES[name]
    cfg = Config.fromfile(osp.join(CONFIGS, f'{name}.py'))
    init_default_scope(scope)
    model = MODELS.build(cfg.model)
    vpt = model.backbone
    assert isinstance(vpt, VPT) and vpt.deep is deep
    assert vpt.prompt_position == front
    host = vpt.backbone
    blocks = list(host.blocks if hasattr(host, 'blocks') else host.layers)
    seen, out = [], []
    for block in blocks:
        block.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    blocks[0].register_forward_hook(lambda m, a, o: out.append(o.shape))
    vpt.eval()
    with torch.no_grad():
        vpt(torch.randn(shape))
    num = cfg.model.backbone.num_prompts
    assert [x.shape[1] for x in seen] == [tokens + num] * len(blocks)
    assert out[0][1] == tokens
    assert torch.equal(seen[0][0, front:front + num], vpt.prompt_embeddings[0])
    # Deep: block 1 sees its own prompts; shallow: block 0's outputs.
    assert vpt.prompt_embeddings.shape[0] == (len(blocks) if deep else 1)
    assert torch.equal(seen[1][0, front:front + num],
                       vpt.prompt_embeddings[-1]) is deep

    hook = cfg.custom_hooks[0]
    plan = plan_trainable(
        model, mode=hook['mode'], extra_trainable=hook['extra_trainable'])
    # The plan holds state-dict keys, not named_parameters() names.
    state = model.state_dict(keep_vars=True)
    count = sum(state[key].numel() for key in plan.trainable_keys)
    assert count == trainable
