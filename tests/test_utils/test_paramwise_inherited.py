# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``paramwise_cfg`` key that a base config writes is named with that
file and line, not as the user's config's; one that only an installed
toolbox's config writes (MMPretrain's Twins configs:
``paramwise_cfg=dict(_delete=True, ...)``, a misspelled ``_delete_``) is a
warning: MMEngine keeps it as a key and its constructor ignores it, as in
MMPretrain's own runs of those configs. It was refused as the user's
(``twins.py: optim_wrapper.paramwise_cfg._delete: ...``), which stopped
every run of the stock Twins configs."""
import logging
import os.path as osp

import mmpretrain
import pytest
from config_writers import write_config
from mmengine.config import Config

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.paramwise_check import check_paramwise_cfg

TWINS = 'mmpretrain::twins/twins-pcpvt-small_8xb128_in1k.py'
#: The stock file that writes ``_delete``, and its line.
TWINS_BASE = osp.join(
    osp.dirname(mmpretrain.__file__), '.mim', 'configs', 'twins',
    'twins-pcpvt-base_8xb128_in1k.py')
KEY = 'optim_wrapper.paramwise_cfg._delete'


def _warnings(records):
    return [r.getMessage() for r in records if r.levelno == logging.WARNING]


def test_an_installed_configs_slip_is_a_warning(tmp_path, log_records):
    config = write_config(tmp_path / 'twins.py', TWINS)
    check_paramwise_cfg(Config.fromfile(config), config)
    assert _warnings(log_records) == [
        f'{TWINS_BASE}, line 19 (inherited by {config}): {KEY}: '
        "'_delete' is no paramwise_cfg key (MMEngine's key that replaces the "
        "base config's dict is _delete_); MMEngine's "
        'DefaultOptimWrapperConstructor ignores it, as in the toolbox\'s own '
        'runs of that config, and applies the merged paramwise_cfg: '
        'norm_decay_mult, bias_decay_mult, flat_decay_mult, custom_keys.'
    ]


def test_a_local_bases_slip_names_that_file_and_line(tmp_path):
    base = write_config(
        tmp_path / 'schedule.py', TWINS, 'optim_wrapper = dict(\n'
        '    paramwise_cfg=dict(_delete=True, norm_decay_mult=0.))\n')
    config = write_config(tmp_path / 'child.py', base)
    with pytest.raises(ConfigError) as error:
        check_paramwise_cfg(Config.fromfile(config), config)
    assert str(error.value).startswith(
        f'{base}, line 3 (inherited by {config}): {KEY}: '
        "'_delete' is no paramwise_cfg key")


@pytest.mark.parametrize('in_file', [True, False])
def test_the_users_own_slip_is_refused(tmp_path, in_file):
    """Guards kept behaviour: the same key written by the user's config
    (over the Twins one) or ``--cfg-options`` is refused, naming it."""
    body = 'optim_wrapper = dict(paramwise_cfg=dict(_delete=True))\n'
    config = write_config(tmp_path / 'twins.py', TWINS,
                          body if in_file else '')
    cfg = Config.fromfile(config)
    options = None if in_file else {'optim_wrapper.paramwise_cfg._delete': 1}
    if options:
        cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as error:
        check_paramwise_cfg(cfg, config, options)
    where = f'{config}: {KEY}' if in_file else \
        f'--cfg-options {KEY}=1'
    assert str(error.value).startswith(f"{where}: '_delete' is no ")
