# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint without the model's final norm (``backbone.fc_norm`` of the
VideoMAE ViT, ``backbone.ln1`` of mmpretrain's), given to evaluate it.

``tools/test.py`` (a Runner's ``test()``) evaluated it with the norm at its
initialisation (the identity) after a WARNING "loading 2 tensors from
their initialisation (head, final norms or allowed)", while ``init_model``
refused it as "damaged, or saved from a smaller architecture" and
mmaction2's ``init_recognizer`` loaded it with a warning. Each now refuses
it as a missing head is refused: naming the file, the part and its keys.
The adapter-only checkpoint of a config whose final norm stays frozen
(tiny_adaptformer_image.py: the pretrained backbone fills it) still tests.
"""
import re

import pytest
import torch
from checkpoint_makers import save_as_built_checkpoint
from config_writers import image_data_cfg, video_data_cfg, write_config
from headless_checkpoints import adaptformer_video_without, save_without
from refusal_lines import refused_line
from repo_paths import (TINY_ADAPTFORMER_IMAGE_CONFIG, TINY_IMAGE_CONFIG,
                        TINY_VIDEO_CONFIG)
from tool_runners import run_tool

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _refusal(path, norm: str) -> str:
    return (f"{path} holds none of the model's final norm ({norm}.*) "
            f'tensors: 2 missing ({norm}.weight, {norm}.bias), so the model '
            'would be evaluated with them at their initialisation')


def test_test_py_refuses_a_checkpoint_without_fc_norm(tmp_path,
                                                      tiny_video_data):
    config = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    ckpt = save_without(
        save_as_built_checkpoint(config, tmp_path / 'full.pth'),
        tmp_path / 'no_norm.pth', ['backbone.fc_norm.'])
    proc = run_tool(['test.py', config, ckpt, '--work-dir', tmp_path / 'work'],
                    tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Epoch(test)'])
    assert line.startswith('StateDictMismatchError: ' +
                           _refusal(ckpt, 'backbone.fc_norm')), line
    assert 'a file saved without them' in line, line
    assert 'give the file to tools/train.py as --pretrained' in line, line


@pytest.mark.parametrize('loop', ['test', 'val'])
def test_runner_evaluation_refuses_an_adaptformer_checkpoint_without_norm(
        loop, tmp_path, tiny_video_data, clean_loggers):
    """A full AdaptFormer checkpoint (adapters and head held) without its
    trained ``fc_norm``, through ``runner.test()``/``val()``."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    config, ckpt = adaptformer_video_without(tmp_path, tiny_video_data,
                                             'no_norm.pth',
                                             ['backbone.fc_norm.'])
    cfg = Config.fromfile(config)
    cfg.load_from = ckpt
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(
            StateDictMismatchError,
            match=re.escape(_refusal(ckpt, 'backbone.fc_norm'))):
        getattr(runner, loop)()


def test_apis_refuse_a_checkpoint_without_final_norm(tmp_path, tiny_video_data,
                                                     tiny_image_data,
                                                     clean_loggers):
    from mmaction.apis import init_recognizer
    from mmpretrain import get_model

    from mmadaptformer.apis import init_model
    config = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    ckpt = save_without(
        save_as_built_checkpoint(config, tmp_path / 'full.pth'),
        tmp_path / 'no_norm.pth', ['backbone.fc_norm.'])
    message = re.escape(_refusal(ckpt, 'backbone.fc_norm'))
    with pytest.raises(StateDictMismatchError, match=message):
        init_recognizer(config, ckpt, device='cpu')
    # It said "damaged, or saved from a smaller architecture".
    with pytest.raises(
            StateDictMismatchError,
            match=re.escape(
                _refusal(f'{ckpt} (config {config})', 'backbone.fc_norm'))):
        init_model(config, ckpt)

    image = write_config(tmp_path / 'image.py', TINY_IMAGE_CONFIG,
                         image_data_cfg(tiny_image_data))
    image_ckpt = save_without(
        save_as_built_checkpoint(image, tmp_path / 'image_full.pth'),
        tmp_path / 'image_no_norm.pth', ['backbone.ln1.'])
    with pytest.raises(
            StateDictMismatchError,
            match=re.escape(_refusal(image_ckpt, 'backbone.ln1'))):
        get_model(image, pretrained=image_ckpt, device='cpu')


def test_head_and_norm_missing_are_named_together(tmp_path, tiny_video_data,
                                                  clean_loggers):
    from mmaction.apis import init_recognizer
    config = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    full = save_as_built_checkpoint(config, tmp_path / 'full.pth')
    ckpt = save_without(
        save_without(full, tmp_path / 'a.pth', ['backbone.fc_norm.']),
        tmp_path / 'b.pth', ['cls_head.'])
    with pytest.raises(
            StateDictMismatchError,
            match=re.escape(
                f"{ckpt} holds none of the model's head (cls_head.*) and "
                'final norm (backbone.fc_norm.*) tensors: 4 missing '
                '(backbone.fc_norm.weight, backbone.fc_norm.bias, '
                'cls_head.fc_cls.weight, cls_head.fc_cls.bias)') +
            '.*It is a backbone checkpoint'):
        init_recognizer(config, ckpt, device='cpu')


def test_adapter_only_file_with_a_frozen_final_norm_still_tests(
        tmp_path, tiny_image_data):
    """Guard of kept behaviour: the AdaptFormer image recipe leaves
    ``backbone.ln1`` frozen, so its adapter-only checkpoint lacks it and
    the ``--pretrained`` backbone fills it, in tools/test.py and
    ``init_model`` alike."""
    from mmengine.config import Config
    from mmpretrain import get_model

    from mmadaptformer.apis import init_model
    from mmadaptformer.utils.pretrained_backbone import set_pretrained_backbone
    stock = write_config(tmp_path / 'stock.py', TINY_IMAGE_CONFIG,
                         image_data_cfg(tiny_image_data))
    backbone = save_as_built_checkpoint(stock, tmp_path / 'backbone.pth')
    config = write_config(
        tmp_path / 'adaptformer.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + 'train_cfg = dict(max_epochs=1)\n'
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n')
    work = tmp_path / 'work'
    run_tool([
        'train.py', config, '--work-dir',
        str(work), '--pretrained', backbone
    ], tmp_path)
    trained = str(work / 'epoch_1.pth')
    saved = torch.load(trained, weights_only=False)
    assert 'adapter_checkpoint' in saved['meta']
    assert 'backbone.ln1.weight' not in saved['state_dict']
    proc = run_tool([
        'test.py', config, trained, '--pretrained', backbone, '--work-dir',
        str(tmp_path / 'test')
    ], tmp_path)
    assert 'Epoch(test)' in proc.stdout
    cfg = Config.fromfile(config)
    set_pretrained_backbone(cfg, backbone)
    expected = torch.load(backbone, weights_only=True)['state_dict']
    model, _ = init_model(cfg, trained)
    assert torch.equal(model.backbone.backbone.ln1.weight.detach(),
                       expected['backbone.ln1.weight'])
    # Through MMEngine's load_checkpoint, as mmpretrain's get_model loads.
    model = get_model(cfg, pretrained=trained, device='cpu')
    assert torch.equal(model.backbone.backbone.ln1.weight.detach(),
                       expected['backbone.ln1.weight'])
