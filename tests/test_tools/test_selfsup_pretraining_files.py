# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdaptFormer on the toolboxes' own self-supervised pre-training files,
given as they come (``--pretrained``, the backbone's ``init_cfg``).

mmpretrain's fine-tuning recipes start from its MAE and BEiT pre-training
checkpoints: the MAE config (``final_norm=False, out_type='avg_featmap'``)
drops the encoder's final norm ``ln1`` for a fresh ``ln2``; the BEiT config
drops ``mask_token`` and ``ln1`` too, and BEiT's own load hook expands the
file's one shared relative position bias table into a table per block,
without the per-block ``relative_position_index`` buffers (which the model
computes itself). The plain toolbox loads both files with a warning. With
the backbone wrapped in AdaptFormer they were refused: the unexpected
``ln1``/``mask_token`` as "saved from another architecture", the index
buffers as missing tensors of a damaged file. So the toolbox's own recipe
could not be adapted by editing its config.
"""
import os.path as osp

import pytest
import torch
from config_writers import image_data_cfg, write_config
from mmengine.config import Config
from pretraining_files import save_pretraining_file
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG
from stripes_task import stripes_images
from task_engines import assert_task_scores
from tool_runners import run_tool

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, init_model
from mmadaptformer.utils.checkpoint_loading import safe_torch_load

ARCH = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)

#: The toolbox's pre-training config and its fine-tuning config of the
#: same method, and the fine-tuning backbone's settings that differ from
#: the tiny config's ViT.
RECIPES = {
    'MAE': ('mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py',
            "dict(type='VisionTransformer', out_type='avg_featmap', "
            'final_norm=False)'),
    'BEiT': ('beit/beit_beit-base-p16_8xb256-amp-coslr-300e_in1k.py',
             "dict(type='BEiTViT', out_type='avg_featmap', "
             'use_abs_pos_emb=False, use_rel_pos_bias=True, '
             'use_shared_rel_pos_bias=False, layer_scale_init_value=0.1)'),
}


def _config(tmp_path, method: str, data: str) -> str:
    host = RECIPES[method][1]
    return write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
        image_data_cfg(data) + 'train_cfg = dict(max_epochs=1)\n'
        f'model = dict(backbone=dict(backbone=dict(_delete_=True, '
        f'arch={ARCH!r}, img_size=32, patch_size=16, **{host})))\n')


@pytest.mark.parametrize('method', list(RECIPES))
def test_adaptformer_trains_and_infers_from_a_pretraining_file(
        tmp_path, tiny_image_data, method):
    pretrained = str(tmp_path / f'{method}_pretrain.pth')
    source = save_pretraining_file(
        RECIPES[method][0], pretrained, arch=ARCH, img_size=32)
    config = _config(tmp_path, method, tiny_image_data)
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--pretrained',
        pretrained
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    left = {'MAE': '2', 'BEiT': '3'}[method] + ' allowed unexpected keys: ' \
        + ('mask_token, ' if method == 'BEiT' else '') + 'ln1.weight, ln1.bias'
    assert f'ignoring {left}' in proc.stdout, proc.stdout[-4000:]
    checkpoint = osp.join(tmp_path, 'w', 'epoch_1.pth')
    saved = safe_torch_load(checkpoint, map_location='cpu')['state_dict']
    assert not any('blocks' in k or 'ffn' in k for k in saved
                   if 'adapter' not in k and 'head' not in k), sorted(saved)
    # Tested, and built for inference: the adapter-only checkpoint on the
    # pre-training file.
    proc = run_tool([
        'test.py', config, checkpoint, '--work-dir', tmp_path / 't',
        '--pretrained', pretrained
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'accuracy/top1' in proc.stdout, proc.stdout[-2000:]
    cfg = Config.fromfile(config)
    cfg.model.backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    model, _ = init_model(cfg, checkpoint)
    host = model.backbone.backbone
    own = host.state_dict()
    if method == 'BEiT':
        shared = source['rel_pos_bias.relative_position_bias_table']
        for i in range(ARCH['num_layers']):
            table = own[f'layers.{i}.attn.relative_position_bias_table']
            assert torch.equal(table, shared), i
    compared = [k for k in source if k in own and 'index' not in k]
    assert len(compared) > 20, compared
    for key in compared:
        assert torch.equal(own[key], source[key]), key
    assert 'ln1.weight' not in own
    image = torch.rand(1, 3, 32, 32) * 255
    with torch.no_grad():
        scores = model.test_step(dict(inputs=[image[0]]))[0].pred_score
    assert scores.shape == (2, ) and torch.isfinite(scores).all()
    # Served on the shared backbone, as alone.
    served = write_config(
        tmp_path / 'served.py', config,
        'model = dict(backbone=dict(backbone=dict(init_cfg=dict('
        f"type='Pretrained', checkpoint={pretrained!r}, "
        "prefix='backbone.'))))\n")
    engine = MultiTaskRecognizer()
    engine.add_task(method, served, checkpoint)
    images = stripes_images(tiny_image_data)
    assert_task_scores(
        engine(images),
        ModelInferencer(served, checkpoint, name=method)(images), method,
        images)
