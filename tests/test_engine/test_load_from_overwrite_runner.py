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


@pytest.mark.parametrize(
    'build', [build_runner, ConfigCopyRunner.from_cfg],
    ids=['build_runner', 'from_cfg'])
def test_runners_refuse_a_new_run_from_their_own_checkpoint(
        clean_loggers, tmp_path, tiny_image_data, last_checkpoint_run, build):
    work = tmp_path / 'W'
    shutil.copytree(os.path.dirname(last_checkpoint_run['record']), work)
    cfg = Config.fromfile(
        write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                     image_data_cfg(tiny_image_data)))
    cfg.work_dir = str(work)
    cfg.load_from = str(work / 'epoch_2.pth')
    digest = _md5(work / 'epoch_2.pth')
    runner = build(cfg)
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value).startswith(
        f'load_from {work}/epoch_2.pth: this new run writes its '
        f'epoch_{{}}.pth checkpoints into its work dir {work}, which would '
        'replace the file it starts from. Train in another work dir '
        f'(--work-dir {work}_from_epoch_2)')
    assert _md5(work / 'epoch_2.pth') == digest
    assert runner.iter == 0
