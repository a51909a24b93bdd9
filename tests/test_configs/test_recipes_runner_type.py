# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The configs of this repository name ``runner_type='ConfigCopyRunner'``,
so MMAction2's and MMPretrain's own ``tools/train.py`` and ``tools/test.py``
(``RUNNERS.build(cfg)`` for a config with a ``runner_type``) keep the
training run's config copy as ours do.

Before, the recipes named no ``runner_type``: the toolboxes' tools built
MMEngine's plain ``Runner``, which writes ``work_dir/<config name>`` as soon
as it is built, so a ``tools/test.py`` run in the training run's work dir
replaced the copy that adapter-only checkpoints are loaded with."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from repo_paths import CONFIGS, TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.engine import ConfigCopyRunner
from mmadaptformer.utils.runner_type import mmengine_runner

# The demo's configs are run by its own script; examples/ are the README's
# minimal diffs from stock configs, which our tools run as ConfigCopyRunner.
_SKIPPED = ('_base_', 'demo', 'examples')


def _repo_configs():
    """Every config of the repository that our bases reach."""
    paths = glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    return sorted(
        osp.relpath(p, CONFIGS) for p in paths
        if osp.relpath(p, CONFIGS).split(osp.sep)[0] not in _SKIPPED)


@pytest.mark.parametrize('name', _repo_configs())
def test_every_config_names_the_config_copy_runner(name):
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    assert cfg.get('runner_type') == 'ConfigCopyRunner', name
    # The pre-build checks (head classes, batch sizes, train loop) still
    # read it as MMEngine's Runner: it is one.
    assert mmengine_runner(cfg)


def test_toolbox_tools_build_keeps_the_training_config_copy(tmp_path):
    """As MMPretrain's ``tools/test.py`` builds the runner: a runner built
    in the training run's work dir leaves that run's config copy as it
    was (MMEngine's ``Runner`` replaced it with the test's config)."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_IMAGE_CONFIG)
    cfg.work_dir = str(tmp_path)
    copy = tmp_path / osp.basename(TINY_ADAPTFORMER_IMAGE_CONFIG)
    copy.write_text('# the training run\'s config\n')
    # MMPretrain's and MMAction2's tools/train.py and tools/test.py:
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    try:
        assert copy.read_text() == '# the training run\'s config\n'
        assert isinstance(runner, ConfigCopyRunner)
    finally:
        MMLogger._instance_dict.clear()
