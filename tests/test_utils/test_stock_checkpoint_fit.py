# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A full stock checkpoint (a plain ViT recognizer or classifier: backbone
and head, no adapters) given to an AdaptFormer or VPT config through the
toolboxes' own evaluation loads: mmaction2's ``init_recognizer`` and
``MMAction2Inferencer``, MMEngine's ``load_checkpoint``, mmpretrain's
``get_model`` and ``ImageClassificationInferencer``.

Our tools refused it, the toolboxes' loads did not: the model predicted
with its adapters (or prompts) at their initialisation. Now refused where
every evaluation load passes, in the words of ``tools/test.py``. AdaptFormer
checkpoints (full, adapter-only) still load, and training transfers still
train.
"""
import re

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, TRAIN_ONLY_CFG, load_tool,
                     pretrained_cfg, save_as_built_checkpoint, stripes_config,
                     video_data_cfg, write_config)

from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

#: The VPT variant of the tiny AdaptFormer video config.
_VPT = ("model = dict(backbone=dict(type='VPT', num_prompts=4, "
        "_delete_=True, backbone=dict(type='VisionTransformer', "
        'img_size=32, patch_size=16, embed_dims=64, depth=2, num_heads=2, '
        'mlp_ratio=2, qkv_bias=True, num_frames=4, tubelet_size=2, '
        "norm_cfg=dict(type='LN', eps=1e-6), init_cfg=None)))\n"
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe', "
        "extra_trainable=[r'prompt_embeddings'])]\n")


def _refusal(path, count, part, example):
    """The refusal of a checkpoint without the model's trained part."""
    article = 'an' if part[0] in 'aeiou' else 'a'
    return (re.escape(
        f"{path} holds none of the model's {count} {part} tensors (e.g. "
        f'{example}): the model would be evaluated with {part}s at their '
        'initialisation, not trained ones.') + '.*' +
            re.escape('evaluate it with its own config') + '.*' +
            re.escape(f'{article} {part}-only file together with the '
                      'backbone it was trained on') + '.*' +
            re.escape(f'to train the {part}s on this model, give the file '
                      'to tools/train.py') + '.*' +
            re.escape('Nothing of it was loaded.'))


@pytest.fixture
def video_stock(tmp_path, tiny_video_data):
    """The tiny stock video recognizer's config and a full checkpoint of
    it (backbone and head, random weights)."""
    stock = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                         video_data_cfg(tiny_video_data))
    return stock, save_as_built_checkpoint(stock, tmp_path / 'stock.pth')


def test_mmaction_apis_refuse_a_stock_checkpoint(tmp_path, tiny_video_data,
                                                 video_stock, clean_loggers):
    from mmaction.apis import init_recognizer
    from mmaction.apis.inferencers import MMAction2Inferencer
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    _, ckpt = video_stock
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    message = _refusal(ckpt, 8, 'adapter',
                       'backbone.blocks.0.adaptmlp.down_proj.weight')
    with pytest.raises(StateDictMismatchError, match=message):
        init_recognizer(config, ckpt, device='cpu')
    with pytest.raises(StateDictMismatchError, match=message):
        MMAction2Inferencer(rec=config, rec_weights=ckpt, device='cpu')

    # Nothing was loaded into the model that refused it.
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(config).model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(StateDictMismatchError, match=message):
        load_checkpoint(model, ckpt, map_location='cpu')
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_vpt_refuses_a_stock_checkpoint(tmp_path, tiny_video_data, video_stock,
                                        clean_loggers):
    """The same rule for VPT's prompts, in VPT's words."""
    from mmaction.apis import init_recognizer
    _, ckpt = video_stock
    config = write_config(tmp_path / 'vpt.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data) + _VPT)
    with pytest.raises(
            StateDictMismatchError,
            match=_refusal(ckpt, 1, 'prompt', 'backbone.prompt_embeddings')):
        init_recognizer(config, ckpt, device='cpu')


def test_mmpretrain_apis_refuse_a_stock_checkpoint(tmp_path, tiny_image_data,
                                                   clean_loggers):
    from mmpretrain import ImageClassificationInferencer, get_model
    ckpt = save_as_built_checkpoint(TINY_IMAGE_CONFIG, tmp_path / 'stock.pth')
    config = stripes_config(tmp_path, tiny_image_data)
    message = _refusal(ckpt, 4, 'adapter',
                       'backbone.layers.1.adaptmlp.down_proj.weight')
    with pytest.raises(StateDictMismatchError, match=message):
        get_model(config, pretrained=ckpt, device='cpu')
    with pytest.raises(StateDictMismatchError, match=message):
        ImageClassificationInferencer(config, pretrained=ckpt, device='cpu')


def test_adaptformer_checkpoints_still_load(tmp_path, tiny_video_data,
                                            clean_loggers):
    """Guard of kept behaviour: a full AdaptFormer checkpoint, and an
    adapter-only one with the backbone it was trained on as the config's
    pretrained weights, load through ``init_recognizer`` as saved."""
    from adapter_tasks import random_task_checkpoints
    from mmaction.apis import init_recognizer
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    full, = random_task_checkpoints(config, 'mmaction', tmp_path, (1, ))
    saved = safe_torch_load(full)['state_dict']
    backbone = str(tmp_path / 'backbone.pth')
    torch.save(
        {
            'state_dict': {
                k: v
                for k, v in saved.items()
                if k.startswith('backbone.') and 'adaptmlp' not in k
            },
            'meta': {}
        }, backbone)
    adapters = str(tmp_path / 'adapters.pth')
    load_tool('model_converters/extract_adapters.py').main(
        [config, full, adapters])
    assert 'adapter_checkpoint' in safe_torch_load(adapters)['meta']
    with_backbone = write_config(tmp_path / 'with_backbone.py', config,
                                 pretrained_cfg(backbone))
    key = 'backbone.blocks.1.adaptmlp.up_proj.weight'
    for cfg, ckpt in ((config, full), (with_backbone, adapters)):
        model = init_recognizer(cfg, ckpt, device='cpu')
        state = model.state_dict()
        assert torch.equal(state[key], saved[key]), ckpt
        assert torch.equal(state['backbone.pos_embed'],
                           saved['backbone.pos_embed']), ckpt


@pytest.mark.parametrize('how', ['load_from', 'init_cfg'])
def test_training_from_a_stock_checkpoint_still_trains(how, tmp_path,
                                                       tiny_image_data,
                                                       clean_loggers):
    """Guard of kept behaviour: training AdaptFormer from a stock
    checkpoint is a transfer, through the Runner's ``load_from`` or the
    whole model's ``init_cfg=dict(type='Pretrained')`` (which only
    training's ``init_weights`` applies): it loads the backbone and head
    and trains the adapters from their initialisation."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    ckpt = save_as_built_checkpoint(TINY_IMAGE_CONFIG, tmp_path / 'stock.pth')
    saved = safe_torch_load(ckpt)['state_dict']
    load = f'load_from = {ckpt!r}\n' if how == 'load_from' else \
        f"model['init_cfg'] = dict(type='Pretrained', checkpoint={ckpt!r})\n"
    cfg = Config.fromfile(
        stripes_config(
            tmp_path, tiny_image_data,
            TRAIN_ONLY_CFG + load + 'train_cfg = dict(max_epochs=1)\n'
            'optim_wrapper = dict(optimizer=dict(lr=0.))\n'
            "custom_hooks = [dict(type='AdapterHook')]\n"))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 1 and runner.iter > 0
    # lr=0: what the model holds after training is what loaded.
    state = runner.model.state_dict()
    for key in ('backbone.cls_token', 'head.fc.weight'):
        assert torch.equal(state[key], saved[key]), key
