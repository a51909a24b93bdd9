# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``runner_type`` that no registry holds ends tools/train.py in one
line naming where it was set (the file, or the ``--cfg-options`` entry),
the registry and the closest names, before the work dir is made.

Before, the run ended with a ``KeyError`` traceback that blamed the config
file for a name set by ``--cfg-options`` and offered no close name, and a
``runner_type`` of another kind with a ``TypeError`` traceback."""
import pytest
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, run_tool, write_config
from refusal_lines import refused_line

_ADVICE = ('Check the spelling, or import the module that registers it '
           '(custom_imports).')


@pytest.mark.parametrize('options, where, hint', [
    ([], "{cfg}: runner_type = 'ConfigCopyRunnr'", "'ConfigCopyRunner'"),
    (['--cfg-options', 'runner_type=Runnr'
      ], "--cfg-options runner_type='Runnr'", "'Runner'"),
])
def test_an_unregistered_runner_type_is_named_where_it_was_set(
        tmp_path, tiny_image_data, options, where, hint):
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + "runner_type = 'ConfigCopyRunnr'\n")
    work = tmp_path / 'work'
    proc = run_tool(
        ['train.py', cfg, '--work-dir', work] + options,
        cwd=tmp_path,
        check=False)
    line = refused_line(proc, no_dir=work)
    assert line == (
        f'ConfigError: {where.format(cfg=cfg)} is not in the '
        f'mmpretrain::runner registry; did you mean {hint}? {_ADVICE}'), line


def test_a_runner_type_of_another_kind_is_named(tmp_path, tiny_image_data):
    cfg = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                       image_data_cfg(tiny_image_data))
    work = tmp_path / 'work'
    proc = run_tool([
        'train.py', cfg, '--work-dir', work, '--cfg-options', 'runner_type=3'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=work)
    assert line == (
        'ConfigError: --cfg-options runner_type=3: a runner_type is the name '
        "of a registered runner class (such as 'Runner') or the class "
        'itself.'), line
