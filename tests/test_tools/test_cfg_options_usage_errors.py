# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``--cfg-options`` option that cannot be merged into the config is a
mistake of the command line: every tool says it once, as a usage error
(exit status 2) naming the option and the config file.

``tools/infer.py`` said ``ERROR CONFIG: ConfigError: --cfg-options:
TypeError: ...`` as the answer of every input and ended with status 1;
``tools/train.py`` and ``tools/test.py`` ended with status 1 on
``ConfigError: --cfg-options: TypeError: list indices must be integers or
slices, not str``, naming neither the option nor the config.
"""
import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool,
                     save_as_built_checkpoint, tool_refusal)
from mmengine.config import Config

from mmadaptformer.testing import make_moving_square_dataset
from mmadaptformer.utils.cfg_options_merge import (CfgOptionsError,
                                                   merge_cfg_options)

CONFIG = TINY_ADAPTFORMER_VIDEO_CONFIG
#: A key path through a string, and a list index the config lacks.
WRONG = {
    'default_scope.x=1':
    f'--cfg-options default_scope.x=1 cannot be merged into the config '
    f"{CONFIG}: TypeError: default_scope={{'x': 1}} in child config cannot "
    'inherit from base because default_scope is a dict in the child config '
    "but is of type <class 'str'> in base config.",
    'param_scheduler.5.T_max=1':
    f'--cfg-options param_scheduler.5.T_max=1 cannot be merged into the '
    f'config {CONFIG}: KeyError: "Index 5 exceeds the length of list [',
}


@pytest.fixture(scope='module')
def run_inputs(tmp_path_factory):
    """A full checkpoint of the tiny model and two videos."""
    root = tmp_path_factory.mktemp('cfg_options')
    make_moving_square_dataset(str(root / 'data'), num_per_class=1)
    return dict(
        full=save_as_built_checkpoint(CONFIG, root / 'full.pth'),
        videos=sorted(
            str(p) for p in (root / 'data' / 'videos').glob('*.mp4'))[:2])


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if ': error: ' in line]
    assert len(lines) == 1, err
    return lines[0].split(': error: ', 1)[1]


@pytest.mark.parametrize('option', sorted(WRONG))
def test_infer_says_it_once_as_a_usage_error(run_inputs, tmp_path, option,
                                             capsys, clean_loggers):
    out = tmp_path / 'r.json'
    err = tool_refusal(
        load_tool('infer.py'), [
            CONFIG, run_inputs['full'], *run_inputs['videos'], '--out',
            str(out), '--cfg-options', option
        ], capsys)
    assert _one_error_line(err).startswith(WRONG[option]), err
    assert not out.exists()


def test_infer_names_the_tasks_config(run_inputs, tmp_path, capsys,
                                      clean_loggers):
    """With ``--task``, the option is given to every model: the config it
    does not fit is named."""
    other = tmp_path / 'other.py'
    other.write_text(f'_base_ = [{CONFIG!r}]\nparam_scheduler = []\n')
    err = tool_refusal(
        load_tool('infer.py'), [
            '--task', 'a', CONFIG, run_inputs['full'], '--task', 'b',
            str(other), run_inputs['full'], *run_inputs['videos'],
            '--cfg-options', 'param_scheduler.0.T_max=1'
        ], capsys)
    assert _one_error_line(err).startswith(
        '--cfg-options param_scheduler.0.T_max=1 cannot be merged into the '
        f"config {other}: KeyError: 'Index 0 exceeds the length of list []'"
    ), err


@pytest.mark.parametrize('option', sorted(WRONG))
def test_test_says_it_as_a_usage_error(run_inputs, tmp_path, option, capsys,
                                       clean_loggers):
    work = tmp_path / 'work'
    err = tool_refusal(
        load_tool('test.py'), [
            CONFIG, run_inputs['full'], '--work-dir',
            str(work), '--cfg-options', option
        ], capsys)
    assert _one_error_line(err).startswith(WRONG[option]), err
    assert not work.exists()


@pytest.mark.parametrize('option', sorted(WRONG))
def test_train_says_it_as_a_usage_error(tmp_path, option, capsys,
                                        clean_loggers):
    work = tmp_path / 'work'
    err = tool_refusal(
        load_tool('train.py'),
        [CONFIG, '--work-dir',
         str(work), '--cfg-options', option], capsys)
    assert _one_error_line(err).startswith(WRONG[option]), err
    assert not work.exists()


def test_the_option_that_does_not_fit_is_named_among_others():
    """The options before and after it merge; the config is left as it
    was."""
    cfg = Config.fromfile(CONFIG)
    before = cfg.to_dict()
    with pytest.raises(CfgOptionsError) as refused:
        merge_cfg_options(
            cfg, {
                'train_cfg.max_epochs': 3,
                'default_scope.x': 1,
                'param_scheduler.0.T_max': 1
            })
    assert str(refused.value).startswith(
        '--cfg-options default_scope.x=1 cannot be merged into the config '
        f'{CONFIG}: TypeError: '), refused.value
    assert cfg.to_dict() == before


@pytest.mark.parametrize('tool', [
    'model_converters/extract_adapters.py',
    'model_converters/merge_adapters.py'
])
@pytest.mark.parametrize('option', sorted(WRONG))
def test_the_adapter_converters_say_it_as_a_usage_error(
        run_inputs, tmp_path, tool, option, capsys, clean_loggers):
    """``extract_adapters.py`` and ``merge_adapters.py`` ended with status
    1 on ``CfgOptionsError: ...``; the option is merged before the
    checkpoint is read, so any checkpoint file shows it."""
    out = tmp_path / 'out.pth'
    err = tool_refusal(
        load_tool(tool),
        [CONFIG, run_inputs['full'],
         str(out), '--cfg-options', option], capsys)
    assert _one_error_line(err).startswith(WRONG[option]), err
    assert not out.exists()
