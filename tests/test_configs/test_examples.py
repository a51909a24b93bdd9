# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The configs the README tells users to copy (configs/examples/) train and
test as they are, given data and weights: tools/train.py and tools/test.py
on tiny real files, with only sizes and paths changed on the command line."""
import copy
import os
import os.path as osp
import re
import shutil

import pytest
import torch
from helpers import CONFIGS, run_tool
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.utils import safe_torch_load

VIDEO = osp.join(CONFIGS, 'examples', 'adaptformer_videomae-vit-b_k400.py')
IMAGE = osp.join(CONFIGS, 'examples', 'adaptformer_vit-b_in1k.py')

# A narrow, shallow version of each stock backbone (the frames, image size
# and pipelines of the example stay as they are).
VIDEO_SIZE = dict(embed_dims=64, depth=2, num_heads=2)
IMAGE_SIZE = dict(arch='deit-tiny')


def _size_options(example):
    if example == VIDEO:
        return [
            f'model.backbone.backbone.{k}={v}' for k, v in VIDEO_SIZE.items()
        ] + ['model.cls_head.in_channels=64']
    return [f'model.backbone.backbone.{k}={v}'
            for k, v in IMAGE_SIZE.items()] + ['model.head.in_channels=192']


def _data_options(example, data):
    options = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [
            f'{loader}.num_workers=0', f'{loader}.persistent_workers=False',
            f'{loader}.batch_size=4'
        ]
        if example == VIDEO:
            split = 'train' if loader == 'train_dataloader' else 'val'
            options += [
                f'{loader}.dataset.ann_file={data[split]}',
                f'{loader}.dataset.data_prefix.video={data["videos"]}'
            ]
        else:
            options.append(f'{loader}.dataset.data_root={data}')
    return options


def imagenet_layout(src, dst):
    """The tiny image folders in ImageNet's layout, as mmpretrain's
    ``ImageNet`` dataset reads it: ``{train,val}/...`` and
    ``meta/{train,val}.txt`` (``<image> <label>``)."""
    shutil.copytree(src, dst)
    os.makedirs(osp.join(dst, 'meta'))
    for split in ('train', 'val'):
        classes = sorted(os.listdir(osp.join(dst, split)))
        with open(osp.join(dst, 'meta', f'{split}.txt'), 'w') as f:
            for label, name in enumerate(classes):
                for image in sorted(os.listdir(osp.join(dst, split, name))):
                    f.write(f'{name}/{image} {label}\n')
    return str(dst)


def _write_pretrained(example, path):
    """A checkpoint of the example's (resized) stock backbone, as
    convert_official.py writes it: ``backbone.*`` keys under state_dict."""
    cfg = Config.fromfile(example)
    stock = copy.deepcopy(cfg.model.backbone.backbone)
    stock.update(VIDEO_SIZE if example == VIDEO else IMAGE_SIZE)
    stock.init_cfg = None
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    backbone = MODELS.build(stock)
    backbone.init_weights()
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    torch.save({'state_dict': state, 'meta': {}}, path)
    return state


@pytest.mark.parametrize('example', [VIDEO, IMAGE], ids=['video', 'image'])
def test_example_trains_and_tests(example, tmp_path, tiny_video_data,
                                  tiny_image_data):
    data = tiny_video_data if example == VIDEO else imagenet_layout(
        tiny_image_data, tmp_path / 'imagenet')
    pretrained = str(tmp_path / 'pretrained.pth')
    state = _write_pretrained(example, pretrained)
    options = _size_options(example) + _data_options(example, data)
    work = tmp_path / 'work'
    proc = run_tool(
        [
            'train.py', example, '--work-dir', work, '--pretrained',
            pretrained, '--cfg-options', 'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1'
        ] + options,
        cwd=tmp_path,
        timeout=600)
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\].*loss: ', proc.stdout)
    metric = 'acc/top1' if example == VIDEO else 'accuracy/top1'
    assert re.search(rf'Epoch\(val\) \[1\]\[\d+/\d+\]\s+{metric}: ',
                     proc.stdout)
    # Adapter-only: the frozen backbone is not in the checkpoint, and the
    # adapters trained.
    ckpt = safe_torch_load(str(work / 'epoch_1.pth'))['state_dict']
    assert not set(ckpt) & {k for k in state if '.adaptmlp.' not in k}
    assert any('.adaptmlp.' in k for k in ckpt)

    proc = run_tool(
        [
            'test.py', example, work / 'epoch_1.pth', '--work-dir',
            tmp_path / 'test', '--pretrained', pretrained, '--cfg-options'
        ] + options,
        cwd=tmp_path,
        timeout=600)
    assert re.search(rf'Epoch\(test\) \[\d+/\d+\]\s+{metric}: ', proc.stdout)
