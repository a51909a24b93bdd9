# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``work_dir`` that is a file, or lies under one, is refused by every way
of building a ``ConfigCopyRunner``, on one line naming the path and what is
wrong there, before the runner makes anything: a script that builds the
Runner itself got MMEngine's ``FileExistsError`` or ``NotADirectoryError``
traceback."""
import pytest
from mmengine.config import Config
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.engine import ConfigCopyRunner, build_runner
from mmadaptformer.utils import ConfigError


@pytest.mark.parametrize(
    'build', [
        build_runner, ConfigCopyRunner.from_cfg, lambda cfg: ConfigCopyRunner(
            model=cfg.model, work_dir=cfg.work_dir, default_scope='mmaction')
    ],
    ids=['build_runner', 'from_cfg', 'constructor'])
def test_runners_refuse_a_work_dir_below_a_file(clean_loggers, tmp_path,
                                                build):
    (tmp_path / 'afile').write_text('mine\n')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.work_dir = str(tmp_path / 'afile' / 'sub')
    with pytest.raises(ConfigError) as info:
        build(cfg)
    assert str(info.value) == (
        f'work_dir {tmp_path}/afile/sub: {tmp_path}/afile is a file, not a '
        'folder; give a folder.')
