# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A whole-model checkpoint that does not fit the classifier it is loaded
into, given through the toolboxes' own inference APIs: mmaction2's
``init_recognizer`` and ``MMAction2Inferencer``, mmpretrain's
``get_model``, ``ImageClassificationInferencer`` and ``inference_model``.

A head of another number of classes loaded with MMEngine's size-mismatch
warning and predicted from a random head; a backbone-only file given to an
AdaptFormer config loaded with untrained adapters and head. Both are now
refused before anything loads. A Runner's ``load_from`` of another head
size (fine-tuning on a new class count) still trains."""
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, TRAIN_ONLY_CFG, image_data_cfg,
                     save_as_built_checkpoint, stripes_images, video_data_cfg,
                     write_config)

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _video_configs(tmp_path, data):
    """The tiny video recognizer for 2 classes, and for 5."""
    base = video_data_cfg(data)
    two = write_config(tmp_path / 'two.py', TINY_VIDEO_CONFIG, base)
    five = write_config(tmp_path / 'five.py', TINY_VIDEO_CONFIG,
                        base + 'model = dict(cls_head=dict(num_classes=5))\n')
    return two, five


def _image_configs(tmp_path, root):
    """The tiny image classifier for 2 classes, and for 5."""
    base = image_data_cfg(root)
    two = write_config(tmp_path / 'two.py', TINY_IMAGE_CONFIG, base)
    five = write_config(
        tmp_path / 'five.py', TINY_IMAGE_CONFIG,
        base + 'model = dict(head=dict(num_classes=5), '
        'data_preprocessor=dict(num_classes=5))\n')
    return two, five


def _head_refusal(path, key, config_key):
    return re.escape(
        f"{path} does not fit the model: the checkpoint's head has 5 "
        f'classes, {config_key} is 2 ({key}: (5, ') + '.*' + re.escape(
            f'Build the model with {config_key}=5')


def test_mmaction_apis_refuse_a_head_of_another_size(tmp_path, tiny_video_data,
                                                     clean_loggers):
    from mmaction.apis import inference_recognizer, init_recognizer
    from mmaction.apis.inferencers import MMAction2Inferencer
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    two, five = _video_configs(tmp_path, tiny_video_data)
    ckpt = save_as_built_checkpoint(five, tmp_path / 'five.pth')
    message = _head_refusal(ckpt, 'cls_head.fc_cls.weight',
                            'model.cls_head.num_classes')
    with pytest.raises(StateDictMismatchError, match=message):
        init_recognizer(two, ckpt, device='cpu')
    with pytest.raises(StateDictMismatchError, match=message):
        MMAction2Inferencer(rec=two, rec_weights=ckpt, device='cpu')

    # Nothing was loaded into the model that refused it.
    from mmengine.config import Config
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(two).model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(StateDictMismatchError, match=message):
        load_checkpoint(model, ckpt, map_location='cpu')
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key

    # Guard of kept behaviour: with its own number of classes it loads the
    # checkpoint's head as saved and predicts over its 5 classes.
    model = init_recognizer(five, ckpt, device='cpu')
    saved = torch.load(ckpt, map_location='cpu')['state_dict']
    assert torch.equal(model.cls_head.fc_cls.weight.detach(),
                       saved['cls_head.fc_cls.weight'])
    with open(tiny_video_data['val']) as f:
        video = osp.join(tiny_video_data['videos'], f.readline().split()[0])
    assert inference_recognizer(model, video).pred_score.shape == (5, )


def test_mmpretrain_apis_refuse_a_head_of_another_size(tmp_path,
                                                       tiny_image_data,
                                                       clean_loggers):
    from mmpretrain import (ImageClassificationInferencer, get_model,
                            inference_model)
    two, five = _image_configs(tmp_path, tiny_image_data)
    ckpt = save_as_built_checkpoint(five, tmp_path / 'five.pth')
    message = _head_refusal(ckpt, 'head.fc.weight', 'model.head.num_classes')
    image = stripes_images(tiny_image_data)[0]
    with pytest.raises(StateDictMismatchError, match=message):
        get_model(two, pretrained=ckpt, device='cpu')
    with pytest.raises(StateDictMismatchError, match=message):
        ImageClassificationInferencer(two, pretrained=ckpt, device='cpu')
    # inference_model takes a model-zoo name or a model; its metafile
    # record names the task, here the one mmpretrain's zoo gives.
    model = get_model(two, device='cpu')
    model._metainfo = SimpleNamespace(
        results=[SimpleNamespace(task='Image Classification')])
    with pytest.raises(StateDictMismatchError, match=message):
        inference_model(model, image, pretrained=ckpt, device='cpu')

    # Guard of kept behaviour: the matching config loads it and predicts
    # over its 5 classes, with the saved head.
    model = get_model(five, pretrained=ckpt, device='cpu')
    saved = torch.load(ckpt, map_location='cpu')['state_dict']
    assert torch.equal(model.head.fc.weight.detach(), saved['head.fc.weight'])
    result = ImageClassificationInferencer(
        five, pretrained=ckpt, device='cpu')(image)[0]
    assert len(result['pred_scores']) == 5


@pytest.mark.parametrize('runner_type', ['Runner', 'FlexibleRunner'])
def test_runner_load_from_another_head_still_trains(runner_type, tmp_path,
                                                    tiny_image_data,
                                                    clean_loggers):
    """Guard of kept behaviour: fine-tuning a checkpoint on a new number of
    classes (``load_from`` in a real Runner, or a FlexibleRunner, whose
    strategy loads it) keeps MMEngine's transfer: the backbone loads, the
    head of another size is skipped and trains."""
    two, five = _image_configs(tmp_path, tiny_image_data)
    ckpt = save_as_built_checkpoint(five, tmp_path / 'five.pth')
    saved = torch.load(ckpt, map_location='cpu')['state_dict']
    from mmengine.config import Config
    from mmengine.runner import FlexibleRunner, Runner
    cfg = Config.fromfile(
        write_config(
            tmp_path / 'cfg.py', two, TRAIN_ONLY_CFG +
            f'load_from = {ckpt!r}\ntrain_cfg = dict(max_epochs=1)\n'
            'optim_wrapper = dict(optimizer=dict(lr=0.))\n'))
    # Our recipes' hook refuses it on purpose; MMEngine's Runner does not.
    cfg.default_hooks.pop('checkpoint_check')
    cfg.work_dir = str(tmp_path / 'work')
    if runner_type == 'FlexibleRunner':
        cfg.strategy = dict(type='SingleDeviceStrategy')
        runner = FlexibleRunner.from_cfg(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    # lr=0: what the backbone holds after training is what loaded.
    assert torch.equal(model.backbone.cls_token.detach(),
                       saved['backbone.cls_token'])
    assert model.head.fc.weight.shape == (2, 64)
    assert runner.epoch == 1 and runner.iter > 0


def test_a_backbone_only_file_is_refused_as_an_adaptformer_model(
        tmp_path, tiny_video_data, tiny_image_data, clean_loggers):
    from mmaction.apis import init_recognizer
    from mmpretrain import get_model
    stock = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                         video_data_cfg(tiny_video_data))
    full = torch.load(
        save_as_built_checkpoint(stock, tmp_path / 'stock.pth'),
        map_location='cpu')['state_dict']
    backbone = str(tmp_path / 'backbone.pth')
    torch.save(
        {
            'state_dict':
            {k: v
             for k, v in full.items() if k.startswith('backbone.')},
            'meta': {}
        }, backbone)
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    message = (
        re.escape(f"{backbone} holds none of the model's 8 adapter tensors "
                  '(e.g. backbone.blocks.0.adaptmlp.') + '.*' +
        re.escape('and no head (cls_head.*): it is a backbone checkpoint') +
        '.*' + re.escape('--pretrained'))
    with pytest.raises(StateDictMismatchError, match=message):
        init_recognizer(config, backbone, device='cpu')

    image_full = torch.load(
        save_as_built_checkpoint(TINY_IMAGE_CONFIG, tmp_path / 'image.pth'),
        map_location='cpu')['state_dict']
    image_backbone = str(tmp_path / 'image_backbone.pth')
    torch.save(
        {
            'state_dict':
            {k: v
             for k, v in image_full.items() if k.startswith('backbone.')},
            'meta': {}
        }, image_backbone)
    from helpers import stripes_config
    image_config = stripes_config(tmp_path, tiny_image_data)
    with pytest.raises(
            StateDictMismatchError,
            match=re.escape(f"{image_backbone} holds none of the model's")):
        get_model(image_config, pretrained=image_backbone, device='cpu')


def test_a_bare_state_dict_file_is_named(tmp_path, tiny_image_data,
                                         clean_loggers):
    """A file of a bare state dict (``torch.save(model.state_dict())``, no
    ``meta``) is refused naming it too."""
    from mmpretrain import get_model
    two, five = _image_configs(tmp_path, tiny_image_data)
    state = torch.load(
        save_as_built_checkpoint(five, tmp_path / 'five.pth'),
        map_location='cpu')['state_dict']
    bare = str(tmp_path / 'bare.pth')
    torch.save(state, bare)
    with pytest.raises(
            StateDictMismatchError,
            match=_head_refusal(bare, 'head.fc.weight',
                                'model.head.num_classes')):
        get_model(two, pretrained=bare, device='cpu')
