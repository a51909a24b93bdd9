# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint given to a stock model (no adapters) through
the toolboxes' own APIs: mmaction2's ``init_recognizer`` and Inferencer,
mmpretrain's ``get_model`` and Inferencer, MMEngine's ``load_checkpoint``.
They loaded the head, warned about the rest and predicted with the backbone
the model was built with; now refused, naming the file, before anything
loads. With the config it was trained with, the same file loads."""
import os.path as osp

import pytest
import torch
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, image_data_cfg,
                     load_tool, stripes_config, video_data_cfg, write_config)

from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _refusal(path, model, lacks):
    return (rf'^{path} is an adapter-only checkpoint \(it holds what '
            rf'trained, not the frozen backbone\), and the model {model} '
            rf'lacks \d+ of its \d+ trained tensors \({lacks}.*Use the '
            'config it was trained with')


def test_mmaction_apis_refuse_it_on_a_stock_config(video_tasks,
                                                   tiny_video_data, tmp_path,
                                                   clean_loggers):
    from mmaction.apis import inference_recognizer, init_recognizer
    from mmaction.apis.inferencers import ActionRecogInferencer
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    task = video_tasks['full']
    ckpt = task['checkpoint']
    stock = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                         video_data_cfg(tiny_video_data))
    message = _refusal(ckpt, 'Recognizer3D', r'backbone\.blocks\.0\.adaptmlp')
    with pytest.raises(StateDictMismatchError, match=message):
        init_recognizer(stock, ckpt, device='cpu')
    with pytest.raises(StateDictMismatchError, match=message):
        ActionRecogInferencer(stock, ckpt, device='cpu')

    # Nothing was loaded into a model that refused it.
    from mmengine.config import Config
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(stock).model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(StateDictMismatchError, match=message):
        load_checkpoint(model, ckpt, map_location='cpu')
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key

    # With the config it was trained with, it loads and predicts.
    model = init_recognizer(task['config'], ckpt, device='cpu')
    with open(tiny_video_data['val']) as f:
        video = osp.join(tiny_video_data['videos'], f.readline().split()[0])
    assert inference_recognizer(model, video).pred_score.shape == (2, )


def test_mmpretrain_apis_refuse_it_on_a_stock_config(tmp_path, tiny_image_data,
                                                     clean_loggers):
    from adapter_tasks import random_task_checkpoints
    from mmpretrain import ImageClassificationInferencer, get_model
    config = stripes_config(
        tmp_path, tiny_image_data, "custom_hooks = [dict(type='AdapterHook', "
        'adapter_only_checkpoint=True)]\n')
    full, = random_task_checkpoints(config, 'mmpretrain', tmp_path, (1, ))
    ckpt = str(tmp_path / 'adapters.pth')
    load_tool('model_converters/extract_adapters.py').main(
        [config, full, ckpt])
    assert 'adapter_checkpoint' in safe_torch_load(ckpt)['meta']
    stock = write_config(tmp_path / 'stock.py', TINY_IMAGE_CONFIG,
                         image_data_cfg(tiny_image_data))
    message = _refusal(ckpt, 'ImageClassifier',
                       r'backbone\.layers\.1\.adaptmlp')
    with pytest.raises(StateDictMismatchError, match=message):
        get_model(stock, pretrained=ckpt, device='cpu')
    with pytest.raises(StateDictMismatchError, match=message):
        ImageClassificationInferencer(stock, pretrained=ckpt, device='cpu')
