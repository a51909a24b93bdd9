# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The warning of ``default_hooks.data_health=None`` names where the removal
was written: the ``--cfg-options`` entry when a tool was given one.

It said ``default_hooks.data_health=None in CONFIG`` even when the config
file names the hook and the option removed it, sending the user to a file
that does not hold the line."""
from mmengine.config import Config
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.engine import DataHealthHook, build_runner
from mmadaptformer.utils.config_place import giving_cfg_options


def _log(runner) -> str:
    with open(f'{runner.log_dir}/{runner.timestamp}.log') as f:
        return f.read()


def test_removal_by_cfg_options_is_named_as_the_option(clean_loggers,
                                                       tmp_path):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.data_health = None
    with giving_cfg_options({'default_hooks.data_health': None}):
        runner = build_runner(cfg)
    assert not any(isinstance(h, DataHealthHook) for h in runner.hooks)
    log = _log(runner)
    assert ('--cfg-options default_hooks.data_health=None: this run has no '
            'DataHealthHook') in log
    assert f'in {TINY_IMAGE_CONFIG}' not in log


def test_removal_in_the_file_names_the_file(clean_loggers, tmp_path):
    """Guard of kept behaviour: without such an option the config file is
    named, as before."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.data_health = None
    with giving_cfg_options({}):
        runner = build_runner(cfg)
    assert 'default_hooks.data_health=None in' in _log(runner)
