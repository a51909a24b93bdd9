# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``work_dir`` through a link that another user planted in a folder
anyone can write in is refused by every way of building a
``ConfigCopyRunner``, before the runner makes anything there.

Only ``build_runner`` (``tools/train.py``, ``tools/test.py``) checked it:
``RUNNERS.build(cfg)`` with ``runner_type='ConfigCopyRunner'`` (how
MMAction2's and MMPretrain's own ``tools/train.py`` build a config's
``runner_type``) and ``ConfigCopyRunner.from_cfg(cfg)`` wrote the run's
log folder and config copy into the folder the link pointed to.

Only root can make a link that another user owns; skipped for others."""
import os

import pytest
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.engine import ConfigCopyRunner, build_runner
from mmadaptformer.utils import ConfigError

needs_root = pytest.mark.skipif(
    not hasattr(os, 'geteuid') or os.geteuid() != 0,
    reason='only root can make a link that another user owns')


@RUNNERS.register_module(force=True)
class PlantedTestRunner(Runner):
    """A config's own ``runner_type``, which ``build_runner`` puts the
    mixin in front of (its own check refused this case before too)."""


@pytest.fixture
def planted(tmp_path):
    """``(link, home)``: ``shared/run``, a link that ``nobody`` owns in a
    sticky world-writable folder, to the empty folder ``home``."""
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o1777)
    home = tmp_path / 'home'
    home.mkdir()
    link = shared / 'run'
    link.symlink_to(home)
    os.lchown(link, 65534, 65534)
    return str(link), home


def _registry_build(cfg):
    return RUNNERS.build(cfg)


def _from_cfg(cfg):
    return ConfigCopyRunner.from_cfg(cfg)


def _constructor(cfg):
    return ConfigCopyRunner(
        model=cfg.model, work_dir=cfg.work_dir, default_scope='mmaction')


def _build_runner_own_type(cfg):
    cfg.runner_type = 'PlantedTestRunner'
    return build_runner(cfg)


@needs_root
@pytest.mark.parametrize(
    'build',
    [_registry_build, _from_cfg, _constructor, _build_runner_own_type])
def test_every_way_to_build_refuses_a_planted_work_dir(clean_loggers, planted,
                                                       build):
    link, home = planted
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.work_dir = link
    cfg.runner_type = 'ConfigCopyRunner'
    with pytest.raises(ConfigError) as info:
        build(cfg)
    assert str(info.value).startswith(
        f'work_dir {link}: {link} is a symbolic link to {str(home)!r} that '
        "'nobody' (uid 65534), not you, made in "), str(info.value)
    assert os.listdir(home) == []


def test_a_work_dir_of_ones_own_is_made(clean_loggers, tmp_path):
    """Guard of kept behaviour: ``RUNNERS.build`` makes a
    ``ConfigCopyRunner`` in a work dir without planted links."""
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.runner_type = 'ConfigCopyRunner'
    runner = RUNNERS.build(cfg)
    assert type(runner) is ConfigCopyRunner
    assert runner.work_dir == cfg.work_dir
    assert os.path.isdir(cfg.work_dir)
