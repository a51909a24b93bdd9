# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A work dir that is a file, or lies under one, is refused on one line
naming the path and what is wrong there, exit status 2, before the datasets
are read or the model is built: from ``--work-dir`` (``tools/train.py``,
``tools/test.py``), ``--cfg-options work_dir=...`` and the config.

Before: MMEngine's Runner ended in a ``FileExistsError`` or
``NotADirectoryError`` traceback of about 45 lines when it made the work
dir, after the model was built. Real processes of the tools (the Runners:
``tests/test_engine/test_config_copy_runner_work_dir.py``)."""
import pytest
from config_writers import video_data_cfg
from helpers import (TINY_VIDEO_CONFIG, save_stock_video_checkpoint,
                     write_config)
from refusal_lines import usage_line
from tool_runners import run_tool

IS_FILE = 'it is a file; give a folder (it is made if it is not there).'


@pytest.fixture(scope='module')
def video_run(tmp_path_factory, tiny_video_data):
    root = tmp_path_factory.mktemp('work_dir_file')
    cfg = write_config(root / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    save_stock_video_checkpoint(str(root / 'ckpt.pth'))
    (root / 'afile').write_text('mine\n')
    return root, cfg, str(root / 'ckpt.pth')


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
@pytest.mark.parametrize(
    'args, line', [
        (['--work-dir', 'afile'], f'--work-dir afile: {IS_FILE}'),
        (['--work-dir', 'afile/sub'],
         '--work-dir afile/sub: {root}/afile is a file, not a folder; give a '
         'folder.'),
        (['--cfg-options', 'work_dir=afile'
          ], f'--cfg-options work_dir afile: {IS_FILE}'),
    ],
    ids=['file', 'below_a_file', 'cfg_options'])
def test_work_dir_that_is_a_file_is_a_command_line_error(
        video_run, tool, args, line):
    root, cfg, ckpt = video_run
    tool_args = [tool, cfg] + ([ckpt] if tool == 'test.py' else [])
    proc = run_tool(tool_args + args, cwd=root, check=False)
    assert usage_line(
        proc, absent=['Traceback', 'Loads checkpoint'
                      ]) == (f'{tool}: error: {line.format(root=root)}')
    assert (root / 'afile').read_text() == 'mine\n'


def test_a_configs_own_work_dir_is_named_as_the_configs(video_run):
    root, cfg, _ = video_run
    own = write_config(root / 'own.py', cfg, "work_dir = 'afile'\n")
    proc = run_tool(['train.py', own], cwd=root, check=False)
    assert usage_line(proc) == f'train.py: error: work_dir afile: {IS_FILE}'
