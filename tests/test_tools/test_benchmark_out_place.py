# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An output the benchmark tools cannot write is refused before anything
is measured (exit status 2, one line).

Before, ``--out /sys/x.json`` or ``--out /proc/x.json`` (where ``root``
passes every permission check, yet no file can be made) ended the tools
with an ``AtomicWriteError`` traceback, exit status 1, after the whole
measurement; ``gpu_check.sh --out-dir /sys/gc`` ended with a
``PermissionError`` traceback; and an ``--out`` that is a pipe or a
device (``/dev/null``) was replaced by a regular file holding the JSON
(now it is written through; a socket is refused).
"""
import json
import os
import os.path as osp
import socket
import stat
import threading

import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool

TOOLS = [
    ('benchmark_train.py', '--out'),
    ('benchmark_infer.py', '--out'),
    ('benchmark_add_task.py', '--out'),
    ('get_flops.py', '--json'),
]


def _refusal(argv, tmp_path) -> str:
    proc = run_tool(argv, cwd=tmp_path, check=False, separate_stderr=True)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    assert proc.stdout == ''  # nothing was measured
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize('tool, flag', TOOLS)
@pytest.mark.parametrize('folder', ['/sys', '/proc'])
def test_an_out_in_a_pseudo_filesystem_is_refused_first(
        tool, flag, folder, tmp_path):
    if not osp.isdir(folder):
        pytest.skip(f'no {folder} here')
    out = osp.join(folder, 'benchmark_out_place.json')
    line = _refusal(
        ['analysis_tools/' + tool, TINY_ADAPTFORMER_VIDEO_CONFIG, flag, out],
        tmp_path)
    assert line.startswith(f'{tool}: error: {flag} {out}: no file can be '
                           f'made in {folder} ('), line
    assert line.endswith('as in /proc, /sys or a read-only mount; give a '
                         'path in a folder you can write in'), line
    assert not osp.exists(out)


@pytest.mark.parametrize('tool, flag', TOOLS)
def test_an_out_that_is_a_socket_is_refused_and_kept(tool, flag, tmp_path):
    path = str(tmp_path / 'sock')
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    try:
        line = _refusal([
            'analysis_tools/' + tool, TINY_ADAPTFORMER_VIDEO_CONFIG, flag, path
        ], tmp_path)
    finally:
        server.close()
    assert line == (f'{tool}: error: {flag} {path}: it is a socket, not a '
                    'regular file, a character device (/dev/null) or a '
                    'pipe; give the path of a file')
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_an_out_that_is_a_pipe_gets_the_json(tmp_path):
    """A pipe stands in for ``/dev/null`` and ``/dev/stdout``: it is
    written through (before, it was refused; before that, replaced by a
    regular file, as ``/dev/null`` was when run as ``root``)."""
    fifo = tmp_path / 'fifo'
    os.mkfifo(fifo)
    got = {}

    def read():
        with open(fifo) as f:
            got['text'] = f.read()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    run_tool([
        'analysis_tools/get_flops.py', TINY_ADAPTFORMER_VIDEO_CONFIG, '--json',
        str(fifo)
    ],
             cwd=tmp_path)
    reader.join(timeout=30)
    assert json.loads(got['text'])
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.skipif(not osp.isdir('/sys'), reason='no /sys here')
def test_gpu_check_out_dir_in_a_pseudo_filesystem_is_one_line(tmp_path):
    line = _refusal(['gpu_check.sh', '--out-dir', '/sys/gpu_check'], tmp_path)
    assert line.startswith('gpu_check.sh: error: --out-dir /sys/gpu_check: '
                           'no file can be made in /sys ('), line


def test_the_check_leaves_nothing_behind(tmp_path):
    """Guard of kept behaviour: a place that can be written passes, and
    the probe file is gone."""
    from mmadaptformer.utils.output_place import place_problem
    assert place_problem(str(tmp_path / 'a' / 'out.json'), '--out') is None
    assert place_problem(str(tmp_path / 'work'), '--out-dir', True) is None
    assert os.listdir(tmp_path) == []
