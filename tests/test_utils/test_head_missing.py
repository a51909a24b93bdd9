# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint without the classifier's head, given to evaluate the model
through the toolboxes' own APIs: MMEngine's ``load_checkpoint``,
mmaction2's ``init_recognizer`` and ``MMAction2Inferencer``, mmpretrain's
``get_model`` and ``ImageClassificationInferencer``, our ``init_model``, and
a Runner's ``test()``/``val()`` on our configs (as mmaction2's and
mmpretrain's own ``tools/test.py`` run them).

Each loaded it (the Runner logging a WARNING "loading 2 tensors from their
initialisation") and predicted from a random head. Each now refuses it,
naming the file, the missing keys and ``--pretrained``. Training from it
(``load_from``) still trains the head."""
import re

import pytest
import torch
from config_writers import image_data_cfg, video_data_cfg, write_config
from repo_paths import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                        TINY_VIDEO_CONFIG)

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _without_head(full: str, path, head: str) -> str:
    """``full``'s checkpoint with its ``head`` tensors dropped, as
    ``path``."""
    checkpoint = torch.load(full, map_location='cpu', weights_only=True)
    checkpoint['state_dict'] = {
        k: v
        for k, v in checkpoint['state_dict'].items()
        if not k.startswith(head + '.')
    }
    torch.save(checkpoint, path)
    return str(path)


def _refusal(path, keys) -> str:
    return re.escape(f"{path} holds none of the model's head (") + '.*' + \
        re.escape(f'missing ({keys}') + '.*' + re.escape(
            'give the file to tools/train.py as --pretrained')


def _full(config, path):
    from checkpoint_makers import save_as_built_checkpoint
    return save_as_built_checkpoint(config, path)


def test_mmaction_apis_refuse_a_checkpoint_without_head(
        tmp_path, tiny_video_data, clean_loggers):
    from mmaction.apis import init_recognizer
    from mmaction.apis.inferencers import MMAction2Inferencer
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint

    from mmadaptformer.apis import init_model
    config = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    full = _full(config, tmp_path / 'full.pth')
    ckpt = _without_head(full, tmp_path / 'headless.pth', 'cls_head')
    message = _refusal(ckpt, 'cls_head.fc_cls.weight, cls_head.fc_cls.bias')
    with pytest.raises(StateDictMismatchError, match=message):
        init_recognizer(config, ckpt, device='cpu')
    with pytest.raises(StateDictMismatchError, match=message):
        MMAction2Inferencer(rec=config, rec_weights=ckpt, device='cpu')
    with pytest.raises(
            StateDictMismatchError,
            match=_refusal(f'{ckpt} (config {config})',
                           'cls_head.fc_cls.weight')):
        init_model(config, ckpt)

    # Nothing was loaded into the model that refused it.
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(config).model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(
            StateDictMismatchError,
            match=message + re.escape('. Nothing of it was loaded.')):
        load_checkpoint(model, ckpt, map_location='cpu')
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key

    # Guard of kept behaviour: the whole file loads, and the backbone
    # alone loads the head-less one (a backbone is no whole classifier).
    init_recognizer(config, full, device='cpu')
    load_checkpoint(
        model.backbone,
        ckpt,
        map_location='cpu',
        revise_keys=[(r'^backbone\.', '')])
    saved = torch.load(ckpt, map_location='cpu')['state_dict']
    assert torch.equal(model.backbone.patch_embed.projection.weight.detach(),
                       saved['backbone.patch_embed.projection.weight'])


def test_an_adaptformer_checkpoint_without_head_is_refused(
        tmp_path, tiny_video_data, clean_loggers):
    """A full AdaptFormer checkpoint (adapters held) without its head: the
    adapter refusals pass it, the head one does not."""
    from mmaction.apis import init_recognizer
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    full = _full(config, tmp_path / 'full.pth')
    ckpt = _without_head(full, tmp_path / 'headless.pth', 'cls_head')
    with pytest.raises(
            StateDictMismatchError,
            match=_refusal(
                ckpt, 'cls_head.fc_cls.weight, '
                'cls_head.fc_cls.bias, cls_head.bn.running_mean')):
        init_recognizer(config, ckpt, device='cpu')
    # Guard of kept behaviour: the whole file loads.
    model = init_recognizer(config, full, device='cpu')
    saved = torch.load(full, map_location='cpu')['state_dict']
    assert torch.equal(model.cls_head.fc_cls.weight.detach(),
                       saved['cls_head.fc_cls.weight'])


def test_mmpretrain_apis_refuse_a_checkpoint_without_head(
        tmp_path, tiny_image_data, clean_loggers):
    from mmpretrain import ImageClassificationInferencer, get_model
    config = write_config(tmp_path / 'stock.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    full = _full(config, tmp_path / 'full.pth')
    ckpt = _without_head(full, tmp_path / 'headless.pth', 'head')
    message = _refusal(ckpt, 'head.')
    with pytest.raises(StateDictMismatchError, match=message):
        get_model(config, pretrained=ckpt, device='cpu')
    with pytest.raises(StateDictMismatchError, match=message):
        ImageClassificationInferencer(config, pretrained=ckpt, device='cpu')
    # Guard of kept behaviour.
    get_model(config, pretrained=full, device='cpu')


@pytest.mark.parametrize('loop', ['test', 'val'])
def test_runner_evaluation_refuses_a_checkpoint_without_head(
        loop, tmp_path, tiny_video_data, clean_loggers):
    """MMEngine's Runner on our config, as mmaction2's own tools/test.py
    runs it: ``runner.test()`` (``runner.val()``) with ``load_from``."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    config = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    ckpt = _without_head(
        _full(config, tmp_path / 'full.pth'), tmp_path / 'headless.pth',
        'cls_head')
    cfg = Config.fromfile(config)
    cfg.load_from = ckpt
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(
            StateDictMismatchError, match=_refusal(ckpt,
                                                   'cls_head.fc_cls.weight')):
        getattr(runner, loop)()


def test_runner_training_from_a_checkpoint_without_head_trains_it(
        tmp_path, tiny_video_data, clean_loggers):
    """Guard of kept behaviour: ``load_from`` a head-less checkpoint trains
    the head, validation included (the refusal is for evaluation before
    training)."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    config = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    ckpt = _without_head(
        _full(config, tmp_path / 'full.pth'), tmp_path / 'headless.pth',
        'cls_head')
    cfg = Config.fromfile(
        write_config(
            tmp_path / 'train.py', config,
            f'load_from = {ckpt!r}\ntrain_cfg = dict(max_epochs=1)\n'
            'default_hooks = dict(checkpoint=dict(interval=10, '
            'save_last=False, save_best=None))\n'))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 1 and runner.iter > 0
    assert 'val/acc/top1' in runner.message_hub.log_scalars
