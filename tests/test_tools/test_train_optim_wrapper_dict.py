# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py`` without ``--amp`` names an ``optim_wrapper`` that is
no dict before the Runner is built: MMEngine's Runner refused it only when
it built the optimizer wrapper, with a traceback ending in ``TypeError:
optimizer wrapper should be an OptimWrapper object or dict, but got SGD``,
after it had made the work dir."""
import pytest
from helpers import (TINY_IMAGE_CONFIG, TRAIN_ONLY_CFG, image_data_cfg,
                     run_tool, write_config)
from refusal_lines import refused_line


@pytest.mark.parametrize('body, options, line', [
    ("optim_wrapper = 'SGD'\n", [],
     "{config}: optim_wrapper='SGD' is not a dict; MMEngine's Runner builds "
     'the optimizer wrapper it trains with from a dict with a type, e.g. '
     "optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', "
     'lr=1e-3)).'),
    ('', ['--cfg-options', 'optim_wrapper=None'],
     '--cfg-options optim_wrapper=None: optim_wrapper=None is not a dict; '
     "MMEngine's Runner builds the optimizer wrapper it trains with from a "
     "dict with a type, e.g. optim_wrapper = dict(type='OptimWrapper', "
     "optimizer=dict(type='AdamW', lr=1e-3))."),
])
def test_a_non_dict_optim_wrapper_is_one_line_before_the_work_dir(
        tmp_path, tiny_image_data, body, options, line):
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + TRAIN_ONLY_CFG + body)
    work_dir = tmp_path / 'work'
    proc = run_tool(
        ['train.py', config, '--work-dir', work_dir] + options,
        cwd=tmp_path,
        check=False)
    assert refused_line(proc, no_dir=work_dir) == \
        'ConfigError: ' + line.format(config=config)
