# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The configs of the CPU transfer study (``configs/demo``) and of the
training benchmark (``configs/benchmark``) run the recipes' hooks
(``configs/_base_/default_hooks.py``). Before, they inherited only the host
toolbox's runtime, so the study's stage 2, given a ``--pretrained``
checkpoint of another architecture, trained on random weights with exit
status 0."""
import glob
import os.path as osp
import re

import pytest
from helpers import CONFIGS, save_stock_video_checkpoint, video_data_cfg
from mmengine.config import Config
from mmengine.runner import Runner

from mmadaptformer.models import own_loading_hint_of_cfg
from mmadaptformer.utils.pretrained_backbone import set_pretrained_backbone
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

DEMO = sorted(glob.glob(osp.join(CONFIGS, 'demo', '*.py')))
BENCHMARK = sorted(glob.glob(osp.join(CONFIGS, 'benchmark', '*.py')))
STAGE2 = [p for p in DEMO if '_appearance_' in p]


def _recipe_hooks():
    return Config.fromfile(osp.join(CONFIGS, '_base_',
                                    'default_hooks.py')).recipe_hooks


@pytest.mark.parametrize(
    'path', DEMO + BENCHMARK, ids=lambda p: osp.relpath(p, CONFIGS))
def test_demo_and_benchmark_configs_run_every_recipe_hook(path):
    hooks = Config.fromfile(path).default_hooks
    for name, hook in _recipe_hooks().items():
        assert name in hooks, (path, name)
        assert hooks[name]['type'].split('.')[-1] == hook.get(
            'type', hooks[name]['type']), (name, hooks[name])


@pytest.mark.parametrize('path', DEMO, ids=osp.basename)
def test_demo_keeps_its_logging_and_last_checkpoint_only(path):
    """The study loads ``epoch_N.pth`` of each run and nothing else: one
    checkpoint at the end, no ``best_*.pth``, a log line every 10
    iterations, as before it ran the recipes' hooks."""
    hooks = Config.fromfile(path).default_hooks
    assert hooks.logger.interval == 10
    checkpoint = hooks.checkpoint
    assert checkpoint.type == 'AtomicCheckpointHook'
    assert checkpoint.interval == -1 and checkpoint.save_last
    assert checkpoint.save_best is None
    assert checkpoint.get('max_keep_ckpts', -1) == -1


@pytest.mark.parametrize('path', STAGE2, ids=osp.basename)
def test_stage2_refuses_a_pretrained_backbone_of_another_architecture(
        path, tmp_path, tiny_video_data, clean_loggers):
    """The study's load path (``tools/train.py --pretrained PATH``) given
    the tiny video ViT (patch 16, 2 blocks, 4 frames) instead of the
    stage-1 ViT (patch 8, 4 blocks, 8 frames): a real Runner stops before
    the first iteration and names the file."""
    other = str(tmp_path / 'tiny_vit_video.pth')
    save_stock_video_checkpoint(other)
    child = tmp_path / 'cfg.py'
    child.write_text(f'_base_ = [{path!r}]\n' +
                     video_data_cfg(tiny_video_data) +
                     'train_cfg = dict(max_epochs=1)\n')
    cfg = Config.fromfile(str(child))
    set_pretrained_backbone(
        cfg, other, own_loading_hint=own_loading_hint_of_cfg)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(
            StateDictMismatchError,
            match=rf'{re.escape(other)}\b.* does not fit the model: it was '
            'probably saved from another architecture'):
        runner.train()
    assert not list((tmp_path / 'work').glob('epoch_*.pth'))
