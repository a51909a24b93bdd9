# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The benchmark tools and get_flops.py check the model part of a config as
tools/train.py and tools/test.py do (``check_model_config``), and end on
its refusal with the line test.py gives, exit status 1.

They did not run the check: an argument mmaction2's VideoMAE ViT accepts
and drops (``drop_path_rat=0.3``) was measured as if it were not there,
exit status 0, where train.py and test.py refuse it.
"""
import pytest
from config_writers import video_data_cfg, write_config
from refusal_lines import refused_line
from refused_runs import unread_checkpoint
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

#: Each tool's arguments after the config, as short a run as it takes.
TOOL_ARGS = {
    'analysis_tools/benchmark_add_task.py': ['--tasks', '1', '--in-process'],
    'analysis_tools/benchmark_infer.py':
    ['--tasks', '1', '--repeat', '1', '--warmup', '0'],
    'analysis_tools/benchmark_train.py':
    ['--repeat', '1', '--iters', '1', '--modes', 'adaptformer'],
    'analysis_tools/get_flops.py': [],
}

#: An argument mmaction2's VisionTransformer would accept and drop.
DROPPED = 'model.backbone.backbone.drop_path_rat=0.3'

#: What a refused run must not print: a traceback, or any measurement.
NOT_RUN = ['Traceback', 'round 1/1', 'task(s) ...', 'FLOPs', '| tasks |']


@pytest.fixture(scope='module')
def test_py(tmp_path_factory, tiny_video_data):
    """The tiny AdaptFormer config on the tiny videos, and the line
    tools/test.py ends with for :data:`DROPPED` given by
    ``--cfg-options`` (its checkpoint, an empty file, is never read)."""
    tmp = tmp_path_factory.mktemp('test_py')
    config = write_config(tmp / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'test.py', config,
        unread_checkpoint(tmp), '--work-dir', tmp / 'w', '--cfg-options',
        DROPPED
    ],
                    cwd=tmp,
                    check=False)
    return config, refused_line(proc)


def test_test_py_refuses_the_dropped_argument(test_py):
    """Guard of kept behaviour: the line compared with below is test.py's
    refusal of the argument, naming the option."""
    _, line = test_py
    assert line.startswith(
        'ConfigError: --cfg-options model.backbone.backbone.drop_path_rat='
        "0.3: VisionTransformer takes no argument 'drop_path_rat' (did you "
        "mean 'drop_path_rate' or 'drop_rate'?); mmaction2's "
        'VisionTransformer accepts and drops arguments')


@pytest.mark.parametrize('tool', sorted(TOOL_ARGS))
def test_a_dropped_backbone_argument_is_test_py_line(tmp_path, test_py, tool):
    config, line = test_py
    proc = run_tool([tool, config, *TOOL_ARGS[tool], '--cfg-options', DROPPED],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc, absent=NOT_RUN) == line


@pytest.mark.parametrize('tool', sorted(TOOL_ARGS))
def test_a_dropped_backbone_argument_in_the_file_names_the_file(
        tmp_path, tiny_video_data, tool):
    config = write_config(
        tmp_path / 'typo.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        'model = dict(backbone=dict(backbone=dict(num_head=4)))\n')
    proc = run_tool([tool, config, *TOOL_ARGS[tool]],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(
        proc, absent=NOT_RUN).startswith(
            f'ConfigError: {config}: model.backbone.backbone.num_head: '
            "VisionTransformer takes no argument 'num_head' (did you mean "
            "'num_heads'")
