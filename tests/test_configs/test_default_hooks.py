# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The configs outside the recipes (``configs/examples``, which write their
own ``default_hooks``; ``configs/tiny`` and ``configs/demo``, which inherit
the recipes' ``configs/_base_/default_hooks.py`` and change some of them)
carry the ``ResumeCheckHook``, once, so that a plain ``Runner.from_cfg``
refuses a resume that cannot continue the run, as ``tools/train.py``
does."""
import glob
import os.path as osp

import pytest
from helpers import CONFIGS, TINY_IMAGE_CONFIG
from mmengine.config import Config
from mmengine.runner import Runner

from mmadaptformer.engine import ResumeCheckHook
from mmadaptformer.engine.runner_build import build_runner

OUTSIDE_RECIPES = sorted(
    glob.glob(osp.join(CONFIGS, 'examples', '*.py')) +
    glob.glob(osp.join(CONFIGS, 'tiny', '*.py')) +
    glob.glob(osp.join(CONFIGS, 'demo', '*.py')))


@pytest.mark.parametrize(
    'path', OUTSIDE_RECIPES, ids=lambda p: osp.relpath(p, CONFIGS))
def test_config_carries_the_resume_check_once(path):
    cfg = Config.fromfile(path)
    assert cfg.default_hooks.resume_check == dict(type='ResumeCheckHook')
    assert not [
        h for h in cfg.get('custom_hooks') or []
        if 'ResumeCheckHook' in str(h['type'])
    ]


def test_runners_of_a_tiny_config_have_one_resume_check(
        tmp_path, clean_loggers):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.work_dir = str(tmp_path / 'plain')
    hooks = [type(h) for h in Runner.from_cfg(cfg).hooks]
    assert hooks.count(ResumeCheckHook) == 1
    # tools/train.py's runner adds one only to a config without it.
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.work_dir = str(tmp_path / 'tool')
    hooks = [type(h) for h in build_runner(cfg).hooks]
    assert hooks.count(ResumeCheckHook) == 1
