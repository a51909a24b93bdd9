# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The analysis tools that read a config take ``--cfg-options`` from one
place (:func:`mmadaptformer.utils.cfg_options.add_cfg_options`, as every
tool does; its help and the refusal of a word without ``=`` are checked
for all tools in ``tests/test_tools/test_cfg_options_help.py``) and merge
it with :func:`mmadaptformer.benchmark.cli.load_model_config`."""
from argparse import ArgumentParser

import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool

from mmadaptformer.benchmark.cli import load_model_config

TOOLS = ('analysis_tools/benchmark_infer.py',
         'analysis_tools/benchmark_add_task.py', 'analysis_tools/get_flops.py')


@pytest.mark.parametrize('path', TOOLS)
def test_each_tool_reads_cfg_options_into_a_dict(path):
    """A guard of kept behaviour: each tool's parser reads ``--cfg-options``
    into a dict, dicts too (``ConfigOptions``)."""
    parser = load_tool(path).build_parser()
    args = parser.parse_args([
        'c.py', '--cfg-options', 'model.backbone.scale=0.1',
        "block_types=[dict(type='X')]"
    ])
    assert args.cfg_options == {
        'model.backbone.scale': 0.1,
        'block_types': [{
            'type': 'X'
        }]
    }
    assert parser.parse_args(['c.py']).cfg_options is None


def test_an_option_that_cannot_be_merged_names_the_config_once(capsys):
    """``config X: --cfg-options ... cannot be merged into the config X``
    said the config twice; the line is the one train.py and test.py
    give."""
    config = TINY_ADAPTFORMER_VIDEO_CONFIG
    parser = ArgumentParser(prog='tool')
    with pytest.raises(SystemExit) as exc:
        load_model_config(parser, config, {'param_scheduler.5.T_max': 1})
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(
        'tool: error: --cfg-options param_scheduler.5.T_max=1 cannot be '
        f'merged into the config {config}: KeyError: '), err
