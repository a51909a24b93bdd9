# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/dist_train.sh CFG 2``: a worker's one-line refusal, and a
command line it cannot use (``parser.error``, exit status 2), are printed
once, not by every rank and then buried under torchrun's
``ChildFailedError`` traceback and block; an unexpected error keeps its
traceback and the block."""
import importlib.util
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
from config_writers import video_data_cfg
from helpers import TINY_VIDEO_CONFIG, TOOLS, write_config
from tool_runners import dist_train_refusal, free_port, run_tool
from torch.distributed.elastic.multiprocessing.errors import (ChildFailedError,
                                                              ProcessFailure)

from mmadaptformer.utils import launcher_parent, torchrun_error_file
from mmadaptformer.utils.cli_types import ToolArgumentParser

ERROR_FILE = torchrun_error_file.ERROR_FILE
PRINTS = torchrun_error_file.LAUNCHER_PRINTS_REFUSALS


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch):
    """This process as a worker that has not read torchrun's settings yet
    (``take_torchrun_settings`` reads them once per process)."""
    monkeypatch.setattr(torchrun_error_file, '_taken', None)


def _dist_run():
    """``tools/misc/dist_run.py``, a script, as a module."""
    spec = importlib.util.spec_from_file_location(
        'dist_run', osp.join(TOOLS, 'misc', 'dist_run.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launcher_reads_the_names_from_the_workers_module():
    """One place names them: dist_run.py loads ``torchrun_error_file.py``
    by its path, without the package's import."""
    dist_run = _dist_run()
    assert dist_run.REFUSAL_KEY == torchrun_error_file.REFUSAL_KEY
    assert dist_run.LAUNCHER_PRINTS_REFUSALS == PRINTS
    script = osp.join(TOOLS, 'misc', 'dist_run.py')
    code = ('import importlib.util, sys; spec = importlib.util.'
            f'spec_from_file_location("d", {script!r}); '
            'spec.loader.exec_module(importlib.util.module_from_spec(spec)); '
            'print(sorted(m for m in sys.modules if m.startswith("mmadapt")))')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         check=True).stdout
    assert out.strip() == '[]'


def _failure(tmp_path, rank, exitcode, line=None, monkeypatch=None):
    error_file = str(tmp_path / f'error{rank}.json')
    if line is not None:
        monkeypatch.setattr(torchrun_error_file, '_taken', None)
        monkeypatch.setenv(ERROR_FILE, error_file)
        torchrun_error_file.report_refusal(line)
    return ProcessFailure(rank, 100 + rank, exitcode, error_file)


def test_report_refusal_writes_torchs_error_file(tmp_path, monkeypatch):
    """The refusal is torchrun's root cause (plain torchrun shows it in its
    block); the worker prints it only when dist_run.py does not."""
    monkeypatch.delenv(PRINTS, raising=False)
    monkeypatch.delenv(ERROR_FILE, raising=False)
    # not under torchrun
    assert not torchrun_error_file.report_refusal('X: y')
    failure = _failure(tmp_path, 0, 1, 'BrokenVideoError: a.mp4', monkeypatch)
    assert not torchrun_error_file.report_refusal('BrokenVideoError: a.mp4')
    monkeypatch.setattr(torchrun_error_file, '_taken', None)
    monkeypatch.setenv(ERROR_FILE, failure.error_file)
    monkeypatch.setenv(PRINTS, '1')
    assert torchrun_error_file.report_refusal('BrokenVideoError: a.mp4')
    block = str(ChildFailedError('tools/train.py', {0: failure}))
    assert 'traceback : BrokenVideoError: a.mp4' in block
    data = json.load(open(tmp_path / 'error0.json'))
    assert data[torchrun_error_file.REFUSAL_KEY] == 'BrokenVideoError: a.mp4'


def test_refusal_lines_are_distinct_and_other_failures_are_told(
        tmp_path, monkeypatch):
    dist_run = _dist_run()
    same = 'FileNotFoundError: val.txt:2: a.mp4: the file is missing'
    failures = {
        0: _failure(tmp_path, 0, 1, same, monkeypatch),
        1: _failure(tmp_path, 1, 1, same, monkeypatch),
        2: _failure(tmp_path, 2, -signal.SIGTERM),  # stopped by torchrun
    }
    error = ChildFailedError('tools/train.py', failures)
    assert dist_run.read_refusals(error) == ([same], False, 1)
    failures[3] = _failure(tmp_path, 3, 1)  # a traceback, no refusal
    error = ChildFailedError('tools/train.py', failures)
    assert dist_run.read_refusals(error) == ([same], True, 1)


def test_worker_takes_the_settings_out_of_its_environment(
        tmp_path, monkeypatch):
    """A tool run in a subprocess of a worker wrote over the worker's error
    file and printed nothing: both settings were inherited."""
    error_file = str(tmp_path / 'error.json')
    monkeypatch.setenv(ERROR_FILE, error_file)
    monkeypatch.setenv(PRINTS, '1')
    launcher_parent.end_with_launcher('pytorch')
    assert ERROR_FILE not in os.environ and PRINTS not in os.environ
    child = subprocess.run([
        sys.executable, '-c', 'import os; '
        f'print(os.environ.get({ERROR_FILE!r}), os.environ.get({PRINTS!r}))'
    ],
                           capture_output=True,
                           text=True,
                           check=True)
    assert child.stdout.split() == ['None', 'None']
    # The worker itself still reports, into its own file.
    assert torchrun_error_file.report_refusal('ConfigError: x')
    data = json.load(open(error_file))
    assert data[torchrun_error_file.REFUSAL_KEY] == 'ConfigError: x'


def test_usage_error_goes_to_the_error_file(tmp_path, monkeypatch, capsys):
    """Under dist_run.py the worker prints no usage error and ends with
    status 2; elsewhere argparse prints it as always."""
    parser = ToolArgumentParser(prog='train.py')
    parser.add_argument('config')
    with pytest.raises(SystemExit) as info:
        parser.parse_args([])
    assert info.value.code == 2
    assert 'train.py: error: the following arguments are required: config' \
        in capsys.readouterr().err
    monkeypatch.setattr(torchrun_error_file, '_taken', None)
    monkeypatch.setenv(ERROR_FILE, str(tmp_path / 'error.json'))
    monkeypatch.setenv(PRINTS, '1')
    with pytest.raises(SystemExit) as info:
        parser.error('--pretrained x.pth: no such file')
    assert info.value.code == 2
    assert capsys.readouterr().err == ''
    text = json.load(open(tmp_path /
                          'error.json'))[torchrun_error_file.REFUSAL_KEY]
    assert text == ('usage: train.py [-h] config\n'
                    'train.py: error: --pretrained x.pth: no such file')


def test_launcher_status_is_2_for_usage_errors_only(tmp_path, monkeypatch):
    dist_run = _dist_run()
    usage = 'usage: train.py\ntrain.py: error: bad'
    failures = {
        0: _failure(tmp_path, 0, 2, usage, monkeypatch),
        1: _failure(tmp_path, 1, -signal.SIGTERM),
        # Stopped by torchrun after it wrote the same.
        3: _failure(tmp_path, 3, -signal.SIGTERM, usage, monkeypatch),
    }
    refusals = dist_run.read_refusals(ChildFailedError('train.py', failures))
    assert refusals == ([usage], False, 2)
    failures[2] = _failure(tmp_path, 2, 1, 'ConfigError: x', monkeypatch)
    refusals = dist_run.read_refusals(ChildFailedError('train.py', failures))
    assert refusals == ([usage, 'ConfigError: x'], False, 1)
    # A worker that failed otherwise: 1, as torchrun's own status.
    del failures[2]
    failures[4] = _failure(tmp_path, 4, 1)
    refusals = dist_run.read_refusals(ChildFailedError('train.py', failures))
    assert refusals == ([usage], True, 1)


def test_dist_train_prints_a_usage_error_once(tmp_path, tiny_video_data,
                                              served_torchrun):
    """Every rank printed the usage and ``train.py: error: --pretrained
    ...: no such file``, then torchrun its traceback and its block, exit
    status 1."""
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    out = dist_train_refusal(
        [cfg, 2, '--work-dir', 'w', '--pretrained', 'nope.pth'], tmp_path,
        '--pretrained')
    assert out.count('usage: train.py') == 1, out[-3000:]
    assert out.rstrip().splitlines()[-1].startswith(
        'train.py: error: --pretrained')


def _missing_val_video(tmp_path, tiny_video_data) -> str:
    """A config whose validation list names a video that is not there."""
    val = str(tmp_path / 'val_missing.txt')
    with open(tiny_video_data['val']) as f:
        lines = f.read().splitlines()
    lines[1] = 'gone.mp4 0'
    with open(val, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    data = dict(tiny_video_data, val=val)
    return write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                        video_data_cfg(data)), val


def test_dist_train_prints_a_refusal_once(tmp_path, tiny_video_data,
                                          served_torchrun):
    """Both ranks printed ``FileNotFoundError: ...``, then torchrun its
    traceback and its ``ChildFailedError`` block (``To enable traceback
    see ...``)."""
    cfg, val = _missing_val_video(tmp_path, tiny_video_data)
    proc = run_tool(['dist_train.sh', cfg, 2, '--work-dir', 'w'],
                    cwd=tmp_path,
                    env=dict(PORT=str(free_port())),
                    timeout=400,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    # Each rank's error named the missing video.
    assert proc.stdout.count(f'{val}:2: ') == 1, proc.stdout[-3000:]
    assert f'FileNotFoundError: 1 of 8 videos of {val} are missing' \
        in proc.stdout
    assert 'ChildFailedError' not in proc.stdout, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout, proc.stdout[-3000:]
    # The last thing printed.
    assert proc.stdout.rstrip().splitlines()[-1].startswith('Replace them')


# Imported by the workers through the config's custom_imports.
BOOM = '''
from mmengine.hooks import Hook
from mmaction.registry import HOOKS


@HOOKS.register_module()
class BoomHook(Hook):

    def before_train(self, runner):
        if runner.rank == 1:
            raise RuntimeError('boom on rank 1')
'''


def test_kept_behaviour_an_unexpected_error_keeps_its_traceback(
        tmp_path, tiny_video_data, served_torchrun):
    """Kept behaviour: an error that is no refusal keeps the worker's
    traceback and torchrun's block."""
    (tmp_path / 'boom_hook.py').write_text(BOOM)
    body = video_data_cfg(tiny_video_data) + (
        "custom_imports = dict(imports=['mmadaptformer', 'boom_hook'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='BoomHook')]\n")
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)
    proc = run_tool(['dist_train.sh', cfg, 2, '--work-dir', 'w'],
                    cwd=tmp_path,
                    env=dict(PORT=str(free_port()), PYTHONPATH=str(tmp_path)),
                    timeout=400,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'Traceback' in proc.stdout
    assert 'RuntimeError: boom on rank 1' in proc.stdout
    assert 'ChildFailedError' in proc.stdout
    assert 'Root Cause (first observed failure)' in proc.stdout
