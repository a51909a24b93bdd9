# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``convert_official.py`` given another backbone's weights that name
their patch embedding as the official ViTs do.

A bare mmpretrain PoolFormer state dict was reported as a ViT checkpoint
with "128 key(s) could not be mapped", nothing saying that it is no ViT at
all; the report now says it is another backbone
(``official_vit_keys.other_backbone``), which no ``--type`` takes."""
import torch
from block_builders import tiny_poolformer
from tool_runners import run_tool

OTHER = ('They are the weights of another backbone, not of a plain ViT '
         "(stages or stacks that are no ViT blocks: Swin's "
         "layers.N.blocks.M, PoolFormer's or RIFormer's network.N, HiViT's "
         'blocks without attention): no --type of this converter takes them.')


def test_a_poolformer_state_dict_is_named_another_backbone(tmp_path):
    src, dst = tmp_path / 'poolformer.pth', tmp_path / 'converted.pth'
    state = tiny_poolformer([8, 8, 8, 8]).state_dict()
    assert 'patch_embed.proj.weight' in state
    torch.save(state, str(src))
    proc = run_tool(['model_converters/convert_official.py', src, dst],
                    tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout
    assert 'Traceback' not in proc.stdout, proc.stdout
    assert OTHER in proc.stdout, proc.stdout
    assert not dst.exists()


def test_a_vit_with_a_key_it_lacks_is_not_another_backbone():
    """Kept: unmapped keys of a ViT (a DeiT's distillation token) get the
    per-key hint alone."""
    from mmadaptformer.models.converters.report import (other_backbone_note,
                                                        unmapped_message)
    from mmadaptformer.utils.official_vit_keys import BLOCK_KEY
    keys = ['dist_token', 'head_dist.weight']
    assert other_backbone_note(keys) == ''
    assert BLOCK_KEY.match('blocks.0.attn.qkv.weight')
    assert other_backbone_note(['network.0.0.norm1.weight']) != ''
    assert other_backbone_note(['backbone.network.0.0.norm1.weight']) != ''
    from mmadaptformer.models.converters.common import ConversionResult
    message = unmapped_message(
        ConversionResult(
            state_dict={}, source_type='mae', unmapped=['network.0.0.x']))
    assert message.endswith(
        "Load them with the toolbox's own model of that backbone (its "
        'model-zoo config).')
