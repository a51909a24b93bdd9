# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py writing into a pipe whose reader has gone
(``infer.py ... | head -1``): it ended with a ``BrokenPipeError``
traceback (and "Exception ignored ... BrokenPipeError" at exit, status
120). It now stops writing quietly and exits with status 141, what the
shell reports for ``cat`` or ``grep`` killed by SIGPIPE, while a ``--out``
file is still written whole."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from helpers import (TINY_VIDEO_CONFIG, TOOLS, save_stock_video_checkpoint,
                     video_data_cfg, write_config)


@pytest.fixture(scope='module')
def model(tmp_path_factory, tiny_video_data):
    """The tiny video config, a full checkpoint of it and its videos."""
    root = tmp_path_factory.mktemp('infer_pipe')
    config = write_config(root / 'tiny.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint = str(root / 'full.pth')
    save_stock_video_checkpoint(checkpoint)
    videos = sorted(
        osp.join(tiny_video_data['videos'], name)
        for name in os.listdir(tiny_video_data['videos']))[:2]
    return dict(config=config, checkpoint=checkpoint, videos=videos)


def _closed_reader(argv, cwd, buffered):
    """Run infer.py with stdout into a pipe whose read end is closed
    before it writes (``| head -0``, deterministically); its exit status
    and stderr."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    # Block-buffered, the write fails at the flush at exit ("Exception
    # ignored ..."); unbuffered, at the first print.
    env.pop('PYTHONUNBUFFERED', None)
    if not buffered:
        env['PYTHONUNBUFFERED'] = '1'
    proc = subprocess.Popen(
        [sys.executable, osp.join(TOOLS, 'infer.py'), *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True)
    proc.stdout.close()  # the reader has gone
    try:
        stderr = proc.stderr.read()
        return proc.wait(timeout=300), stderr
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize('out,buffered', [('r.json', True), ('r.json', False),
                                          ('-', True)])
def test_a_reader_that_has_gone_ends_the_output_quietly(
        model, tmp_path, out, buffered):
    status, stderr = _closed_reader(
        [model['config'], model['checkpoint'], *model['videos'], '--out', out],
        tmp_path, buffered)
    assert status == 141, stderr
    assert 'BrokenPipeError' not in stderr and 'Traceback' not in stderr, \
        stderr
    if out != '-':
        # The file holds every result: only stdout's reader went away.
        assert list(json.loads((tmp_path / out).read_text())) == \
            model['videos']
        assert 'Results of 2 inputs written to r.json' in stderr
