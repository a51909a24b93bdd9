# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The analysis tools given a checkpoint as CONFIG say what the file is and
their own order of arguments.

Before, ``benchmark_train.py model.pth`` (``benchmark_infer.py``,
``benchmark_add_task.py`` and ``get_flops.py`` alike) ended with ``config
model.pth: not a config file (expected one of .py, .json, .yml, .yaml)``,
which does not say that the file is a checkpoint nor that these tools take
a config alone.
"""
import numpy as np
import pytest
import torch
from refusal_lines import usage_line
from tool_runners import run_tool

TOOLS = ('benchmark_train.py', 'benchmark_infer.py', 'benchmark_add_task.py',
         'get_flops.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('config_kind') / 'model.pth'
    torch.save(dict(state_dict=dict(w=torch.zeros(2)), meta={}), path)
    return str(path)


@pytest.mark.parametrize('tool', TOOLS)
def test_checkpoint_as_config_is_named_with_the_tools_order(
        tool, checkpoint, tmp_path):
    proc = run_tool([f'analysis_tools/{tool}', checkpoint],
                    cwd=tmp_path,
                    check=False)
    line = usage_line(proc)
    assert line.startswith(f'{tool}: error: config {checkpoint}: it is a '
                           'checkpoint (torch.save), not a config file'), line
    assert f'{tool} takes the config alone ({tool} CONFIG [OPTIONS])' in \
        line, line


def test_other_file_as_config_keeps_the_line(tmp_path):
    """Guards kept behaviour: a file that is no checkpoint, video or image
    keeps the plain line."""
    notes = tmp_path / 'notes.txt'
    notes.write_text('not a config\n')
    proc = run_tool(['analysis_tools/get_flops.py',
                     str(notes)],
                    cwd=tmp_path,
                    check=False)
    assert usage_line(proc) == (
        f'get_flops.py: error: config {notes}: not a config file (expected '
        'one of .py, .json, .yml, .yaml)')


def test_video_as_config_is_named_without_checkpoint_advice(tmp_path):
    """A video given as CONFIG is named as one; the advice asks for a model
    config, not for the config of a checkpoint."""
    from mmadaptformer.testing import write_video
    clip = str(tmp_path / 'clip.mp4')
    write_video(clip, np.zeros((4, 32, 32, 3), np.uint8))
    proc = run_tool(['analysis_tools/get_flops.py', clip],
                    cwd=tmp_path,
                    check=False)
    line = usage_line(proc)
    assert line.startswith(f'get_flops.py: error: config {clip}: it is a '
                           'video file'), line
    assert line.endswith('(get_flops.py CONFIG [OPTIONS]) and measures with '
                         'random weights, reading no checkpoint of yours; '
                         'give a model config, such as '
                         'configs/tiny/tiny_adaptformer_video.py'), line
