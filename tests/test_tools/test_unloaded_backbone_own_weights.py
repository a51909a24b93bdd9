# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Linear probing a plain backbone that loads its weights itself, through
its own ``pretrained`` (mmaction2's TimeSformer, UniFormer with
``pretrained2d=False``), as the AdapterHook's refusal of a random frozen
backbone advises for such a host.

The rule (:func:`~mmadaptformer.engine.refuse_unloaded_backbone`) counted
only ``Pretrained`` init_cfgs for a plain backbone, where the wrappers
count the weights their host names too: ``tools/train.py`` refused both
before the work dir, and the hook refused TimeSformer (which never turns
its ``pretrained`` into an init_cfg) once its weights had loaded. A
backbone that names no weights (``pretrained=None`` or ``''``) is still
refused."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS
from plain_hosts import TIMESFORMER, probe_config, save_host
from refusal_lines import refused_line
from tiny_uniformer import UNIFORMER_HOST
from tool_runners import run_tool

from mmadaptformer.engine import (OwnWeightsLoads, UnloadedBackboneError,
                                  refuse_unloaded_backbone)
from mmadaptformer.models.backbones.config_host import build_without_weights
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

UNIFORMER = dict(UNIFORMER_HOST, pretrained2d=False)


@pytest.mark.parametrize(
    'host_cfg', [TIMESFORMER, UNIFORMER], ids=['TimeSformer', 'UniFormer'])
def test_train_probes_a_plain_backbone_given_its_own_pretrained(
        tmp_path, tiny_video_data, host_cfg):
    path = str(tmp_path / 'host.pth')
    stock = save_host(host_cfg, path)
    config = probe_config(tmp_path, tiny_video_data,
                          dict(host_cfg, pretrained=path))
    work_dir = tmp_path / 'w'
    proc = run_tool(['train.py', config, '--work-dir', work_dir],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'UnloadedBackboneError' not in proc.stdout, proc.stdout[-3000:]
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    # The frozen backbone trained from the file, not from random weights
    # (TimeSformer copies its spatial attention into the temporal one).
    compared = [key for key in stock if 'attentions.1' not in key]
    assert compared
    for key in compared:
        assert torch.equal(state[f'backbone.{key}'], stock[key]), key


@pytest.mark.parametrize('pretrained', [None, ''])
def test_train_still_refuses_a_plain_backbone_naming_no_weights(
        tmp_path, tiny_video_data, pretrained):
    """Guards behaviour that already worked, with the advice for a host
    that reads its own weights added."""
    config = probe_config(tmp_path, tiny_video_data,
                          dict(TIMESFORMER, pretrained=pretrained))
    line = refused_line(
        run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                 cwd=tmp_path,
                 check=False),
        no_dir=str(tmp_path / 'w'))
    assert line.startswith('UnloadedBackboneError: AdapterHook: The frozen '
                           'backbone TimeSformer (model.backbone) was never '
                           'loaded'), line
    # TimeSformer takes no init_cfg: its own key, which --pretrained sets.
    assert 'Give tools/train.py --pretrained PATH, or set '\
        'model.backbone.pretrained = PATH, or load' in line, line
    assert 'init_cfg' not in line, line


@pytest.mark.parametrize(
    'host_cfg', [TIMESFORMER, UNIFORMER], ids=['TimeSformer', 'UniFormer'])
def test_the_rule_counts_a_plain_hosts_own_weights(tmp_path, host_cfg):
    """Before loading (tools/train.py) and after it (the hook), on the
    same models."""
    path = str(tmp_path / 'host.pth')
    save_host(host_cfg, path)
    model_cfg = dict(
        type='Recognizer3D',
        backbone=dict(host_cfg, pretrained=path),
        cls_head=dict(
            type='I3DHead',
            in_channels=64,
            num_classes=2,
            average_clips='prob'))
    cfg = Config(dict(model=model_cfg))
    refuse_unloaded_backbone(
        build_without_weights(cfg.model), cfg, initialized=False)
    model = MODELS.build(cfg.model)
    model.init_weights()
    refuse_unloaded_backbone(model, cfg)
    # TimeSformer's init_weights() tries to load pretrained=''.
    for pretrained, initialized in ((None, False), ('', False), (None, True)):
        cfg.model.backbone.pretrained = pretrained
        if initialized:
            model = MODELS.build(cfg.model)
            model.init_weights()
        else:
            model = build_without_weights(cfg.model)
        with pytest.raises(
                UnloadedBackboneError,
                match=r'model\.backbone\.pretrained( = PATH|2d=True)'):
            refuse_unloaded_backbone(model, cfg, initialized)


def test_train_refuses_own_weights_that_load_nothing(tmp_path,
                                                     tiny_video_data):
    """A recognizer checkpoint (keys ``backbone.*``) given as a plain
    TimeSformer's own ``pretrained`` loads none of its tensors, with a
    warning only: counted as loaded, it would have been probed at random
    weights. Refused at ``before_train`` as the wrappers refuse it."""
    path = str(tmp_path / 'recognizer.pth')
    stock = save_host(TIMESFORMER, path)
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in stock.items()}}, path)
    config = probe_config(tmp_path, tiny_video_data,
                          dict(TIMESFORMER, pretrained=path))
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Epoch(train)'])
    assert line.startswith(
        f'StateDictMismatchError: TimeSformer names its own weights {path} '
        '(model.backbone.pretrained), but none of its'), line


def test_own_weights_loads_judges_only_what_loads_in_the_run(tmp_path):
    """What the hook records from before_run to before_train: a model the
    Runner was given initialised (its init_weights() is not run again)
    loads nothing then, and is not refused for it."""
    path = str(tmp_path / 'host.pth')
    stock = save_host(TIMESFORMER, path)
    model = MODELS.build(dict(TIMESFORMER, pretrained=path))
    model.init_weights()
    loads = OwnWeightsLoads(model)
    loads.check()
    # A file in another layout: recorded, refused.
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in stock.items()}}, path)
    model = MODELS.build(dict(TIMESFORMER, pretrained=path))
    loads = OwnWeightsLoads(model)
    model.init_weights()
    with pytest.raises(StateDictMismatchError, match=r'\(model\.pretrained\)'):
        loads.check()
