# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A new training run whose ``load_from`` is a file its own checkpoint hook
writes is refused by every Runner :func:`build_runner` builds (and
``ConfigCopyRunner`` built directly) when ``train()`` starts, before it
loads or saves anything: a script that builds the Runner itself saved its
``epoch_2.pth`` over the checkpoint it started from. The tool:
``tests/test_tools/test_load_from_overwrite.py``."""
import hashlib
import os
import shutil

import pytest
from config_writers import image_data_cfg, write_config
from mmengine.config import Config
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.engine import ConfigCopyRunner, build_runner
from mmadaptformer.utils import ConfigError


def _md5(path) -> str:
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


def _digests(folder) -> dict:
    return {
        name: _md5(folder / name)
        for name in os.listdir(folder) if os.path.isfile(folder / name)
    }


def _new_run_from_its_own_checkpoint(tmp_path, tiny_image_data,
                                     last_checkpoint_run):
    """``(work, cfg)``: a copy ``W`` of a trained run's work dir and the
    tiny image config of a new run in ``W`` from ``W/epoch_2.pth``."""
    work = tmp_path / 'W'
    shutil.copytree(os.path.dirname(last_checkpoint_run['record']), work)
    cfg = Config.fromfile(
        write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                     image_data_cfg(tiny_image_data)))
    cfg.work_dir = str(work)
    cfg.load_from = str(work / 'epoch_2.pth')
    return work, cfg


@pytest.mark.parametrize(
    'build', [build_runner, ConfigCopyRunner.from_cfg],
    ids=['build_runner', 'from_cfg'])
def test_runners_refuse_a_new_run_from_their_own_checkpoint(
        clean_loggers, tmp_path, tiny_image_data, last_checkpoint_run, build):
    work, cfg = _new_run_from_its_own_checkpoint(tmp_path, tiny_image_data,
                                                 last_checkpoint_run)
    digest = _md5(work / 'epoch_2.pth')
    runner = build(cfg)
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value).startswith(
        f'load_from {work}/epoch_2.pth: this new run writes its '
        f'epoch_{{}}.pth checkpoints into its work dir {work}, where they '
        'can replace the file it starts from (now or on a later --resume). '
        f'Train in another work dir (--work-dir {work}_from_epoch_2); '
        f'--resume {work}/epoch_2.pth continues the run that wrote it '
        'instead.')
    assert _md5(work / 'epoch_2.pth') == digest
    assert runner.iter == 0


@pytest.mark.parametrize(
    'train_cfg, hook', [(dict(max_epochs=1), {}),
                        (dict(max_epochs=2), dict(interval=3))],
    ids=['one_epoch', 'interval_3'])
def test_a_run_that_saves_no_epoch_2_is_refused_too(clean_loggers, tmp_path,
                                                    tiny_image_data,
                                                    last_checkpoint_run,
                                                    train_cfg, hook):
    """A run that saves no ``epoch_2.pth`` itself (one epoch, or
    ``interval=3``) is refused too: a later ``--resume`` of it saves one,
    and its ``epoch_1.pth`` and ``last_checkpoint`` replace the old run's
    at once. The line says so (it said "which would replace the file")."""
    work, cfg = _new_run_from_its_own_checkpoint(tmp_path, tiny_image_data,
                                                 last_checkpoint_run)
    cfg.train_cfg.update(train_cfg)
    cfg.default_hooks.checkpoint.update(hook)
    before = _digests(work)
    runner = build_runner(cfg)
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert f'into its work dir {work}, where they can replace the file it ' \
        'starts from (now or on a later --resume). ' in str(info.value)
    assert _digests(work) == before
