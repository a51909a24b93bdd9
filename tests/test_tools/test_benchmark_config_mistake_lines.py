# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The benchmark tools end on a config mistake (a type no registry holds,
an argument a class does not take, from the config file or from
``--cfg-options``) with the one line tools/test.py gives, exit status 1
and no traceback.

They did not run their builds under ``naming_config_mistakes``:
benchmark_add_task.py and benchmark_infer.py ended with MMEngine's
``KeyError`` or Python's ``TypeError: BaseHead.__init__() got an unexpected
keyword argument 'num_clases'`` and their traceback, and
benchmark_train.py with a ``RuntimeError`` holding the traceback of the
worker process that built the model.
"""
import pytest
from config_writers import video_data_cfg, write_config
from refusal_lines import refused_line
from refused_runs import unread_checkpoint
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

#: Each tool's arguments after the config, as short a run as it takes.
TOOL_ARGS = {
    'analysis_tools/benchmark_add_task.py': ['--tasks', '1'],
    'analysis_tools/benchmark_infer.py':
    ['--tasks', '1', '--repeat', '1', '--warmup', '0'],
    'analysis_tools/benchmark_train.py':
    ['--repeat', '1', '--iters', '1', '--modes', 'adaptformer'],
}

#: What the refused runs must not print.
TRACEBACK = ['Traceback', 'RuntimeError', 'got an unexpected keyword']

#: A misspelled type, and a misspelled argument of a model part.
OPTIONS = [
    'model.cls_head.type=TimeSformerHaed', 'model.cls_head.num_clases=2'
]


@pytest.fixture(scope='module')
def test_py_lines(tmp_path_factory, tiny_video_data):
    """The config (the tiny AdaptFormer on the tiny videos), and the line
    tools/test.py ends with for each mistake given by ``--cfg-options``
    (its checkpoint, an empty file, is never read)."""
    tmp = tmp_path_factory.mktemp('test_py')
    config = write_config(tmp / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    unread = unread_checkpoint(tmp)
    lines = {}
    for option in OPTIONS:
        proc = run_tool([
            'test.py', config, unread, '--work-dir', tmp / 'w',
            '--cfg-options', option
        ],
                        cwd=tmp,
                        check=False)
        lines[option] = refused_line(proc)
    return config, lines


def test_test_py_lines_name_the_option(test_py_lines):
    """Guard of kept behaviour: the lines compared with below are the
    ones that name the option as typed."""
    _, lines = test_py_lines
    assert lines[OPTIONS[0]].startswith(
        "ConfigError: --cfg-options model.cls_head.type='TimeSformerHaed' is "
        "not in the mmaction::model registry; did you mean 'TimeSformerHead'")
    assert lines[OPTIONS[1]] == (
        'ConfigError: --cfg-options model.cls_head.num_clases=2: BNLinearHead '
        "(through BaseHead.__init__) takes no argument 'num_clases' (did you "
        "mean 'num_classes' or 'multi_class'?).")


@pytest.mark.parametrize('option', OPTIONS)
@pytest.mark.parametrize('tool', sorted(TOOL_ARGS))
def test_a_mistake_from_cfg_options_is_test_py_line(tmp_path, test_py_lines,
                                                    tool, option):
    config, lines = test_py_lines
    proc = run_tool([tool, config, *TOOL_ARGS[tool], '--cfg-options', option],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc, absent=TRACEBACK) == lines[option]


@pytest.mark.parametrize('tool', sorted(TOOL_ARGS))
def test_a_mistake_in_the_file_names_the_file_and_key(tmp_path,
                                                      tiny_video_data, tool):
    config = write_config(
        tmp_path / 'typo.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        'model = dict(cls_head=dict(num_clases=2))\n')
    proc = run_tool([tool, config, *TOOL_ARGS[tool]],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(
        proc, absent=TRACEBACK
    ) == (
        f'ConfigError: {config}: model.cls_head.num_clases: BNLinearHead '
        "(through BaseHead.__init__) takes no argument 'num_clases' (did you "
        "mean 'num_classes' or 'multi_class'?).")


def test_benchmark_train_names_an_optimizer_argument(tmp_path, test_py_lines):
    """The optimizer is built in the workers too: a misspelled argument of
    it was the worker's traceback."""
    config, _ = test_py_lines
    proc = run_tool([
        'analysis_tools/benchmark_train.py', config,
        *TOOL_ARGS['analysis_tools/benchmark_train.py'], '--cfg-options',
        'optim_wrapper.optimizer.lrr=0.1'
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(
        proc, absent=TRACEBACK) == (
            'ConfigError: --cfg-options optim_wrapper.optimizer.lrr=0.1: SGD '
            "takes no argument 'lrr' (did you mean 'lr'?).")
