# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMAction2 model-zoo VideoMAE checkpoints into the recipes, through the
real tools.

A zoo file (``vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400_*.pth``)
is a ``Recognizer3D`` state dict of mmaction2's ``VisionTransformer`` built
for 16 frames: its saved ``pos_embed`` buffer has the 16-frame length. Given
to a recipe of another length, the load check refused it and pointed at
``convert_official.py --num-frames``, which answered "Cannot detect the
checkpoint type". The replica here is built from mmaction2's own config
with tiny dims and saved as MMEngine saves checkpoints.
"""
import os.path as osp

import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool, video_data_cfg,
                     write_config)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import mmadaptformer  # noqa: F401  (mmaction2's models import)
from mmadaptformer.utils import safe_torch_load

#: mmaction2's model-zoo config of the VideoMAE ViT-B K400 checkpoint.
ZOO_CONFIG = osp.join(
    osp.dirname(__import__('mmaction').__file__), '.mim', 'configs',
    'recognition', 'videomae',
    'vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py')
#: The tiny configs' backbone dims (tiny_adaptformer_video.py).
TINY = dict(embed_dims=64, depth=2, num_heads=2, img_size=32, mlp_ratio=2)


def zoo_state_dict(seed=0, **backbone):
    """The state dict of the zoo's recognizer as mmaction2's config builds
    it (16 frames), with tiny dims and ``backbone`` overrides."""
    cfg = Config.fromfile(ZOO_CONFIG)
    cfg.model.backbone.update(TINY, **backbone)
    cfg.model.cls_head.in_channels = cfg.model.backbone.embed_dims
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.state_dict()


def save_zoo_checkpoint(path, **backbone):
    """A zoo file as MMEngine saves checkpoints; returns its state dict."""
    state = zoo_state_dict(**backbone)
    torch.save(
        dict(meta=dict(mmengine_version='0.10.7', epoch=30), state_dict=state),
        path)
    return state


def fresh_vit(**overrides):
    """mmaction2's ``VisionTransformer`` of the tiny AdaptFormer config."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    backbone = dict(cfg.model.backbone.backbone, **overrides)
    init_default_scope('mmaction')
    return MODELS.build(backbone)


def _train_cfg(tmp_path, data):
    """The tiny AdaptFormer recipe (4 frames), one epoch, no validation,
    saving the whole model so that its frozen tensors can be read."""
    return write_config(
        tmp_path / 'adaptformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(data) + 'train_cfg = dict(max_epochs=1)\n'
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
        'custom_hooks = [dict(type="AdapterHook", extra_trainable='
        '[r"^backbone\\.fc_norm\\."], adapter_only_checkpoint=False)]\n')


def test_a_zoo_checkpoint_converted_for_the_recipe_trains_from_its_weights(
        tmp_path, tiny_video_data):
    zoo = str(tmp_path / 'vit-base-p16_videomae-k400-pre_16x4x1.pth')
    state = save_zoo_checkpoint(zoo)
    assert state['backbone.pos_embed'].shape == (1, 32, 64)  # 16 frames
    config = _train_cfg(tmp_path, tiny_video_data)

    # The zoo file as it is: the load check refuses it, and its advice
    # (convert_official.py with the recipe's sizes) is a command that
    # works.
    proc = run_tool(['train.py', config, '--pretrained', zoo],
                    tmp_path,
                    check=False)
    assert proc.returncode != 0
    assert 'pos_embed: (1, 32, 64) vs (1, 8, 64)' in proc.stdout
    assert ('holds 32 position tokens in the checkpoint (num_frames=16, '
            'img_size=32 ') in proc.stdout
    assert (f'convert_official.py {zoo} {zoo[:-4]}_4frames_32px.pth '
            '--num-frames 4 --img-size 32') in proc.stdout

    converted = str(tmp_path / 'videomae_4x32.pth')
    proc = run_tool([
        'model_converters/convert_official.py', zoo, converted, '--num-frames',
        '4', '--img-size', '32'
    ], tmp_path)
    assert 'Source type: mmaction2' in proc.stdout
    saved = torch.load(converted, weights_only=True)['state_dict']
    assert not [k for k in saved if not k.startswith('backbone.')]
    assert torch.equal(saved['backbone.pos_embed'], fresh_vit().pos_embed)

    work = tmp_path / 'work'
    run_tool([
        'train.py', config, '--work-dir',
        str(work), '--pretrained', converted
    ], tmp_path)
    trained = safe_torch_load(
        str(work / 'epoch_1.pth'), map_location='cpu')['state_dict']
    frozen = [
        k for k in trained if k.startswith('backbone.') and 'adaptmlp' not in k
        and 'fc_norm' not in k
    ]
    assert len(frozen) == len(state) - 2 - 2  # no cls_head, no fc_norm
    for key in frozen:
        if key == 'backbone.pos_embed':
            expected = fresh_vit().pos_embed
        else:
            expected = state[key]
        assert torch.equal(trained[key], expected), key
    # What trained moved: the adapters' up projections (zero at their
    # initialisation) ran, the frozen backbone did not. Not fc_norm: the
    # BNLinear head's BatchNorm undoes a per-channel scale, so the norm's
    # weight gets a gradient of about zero and stayed at its ones on some
    # runs.
    up = [key for key in trained if key.endswith('adaptmlp.up_proj.weight')]
    assert up and all(trained[key].abs().sum() > 0 for key in up)


def test_the_converter_refuses_a_zoo_file_as_an_official_type(tmp_path):
    zoo = str(tmp_path / 'zoo.pth')
    save_zoo_checkpoint(zoo)
    proc = run_tool([
        'model_converters/convert_official.py', zoo,
        str(tmp_path / 'out.pth'), '--type', 'videomae'
    ],
                    tmp_path,
                    check=False)
    # A mistake of the command line's --type: exit status 2.
    assert proc.returncode == 2
    assert ("Its key names say it is 'mmaction2', not 'videomae': pass "
            '--type mmaction2, or leave --type out') in proc.stdout
    assert not osp.exists(tmp_path / 'out.pth')
