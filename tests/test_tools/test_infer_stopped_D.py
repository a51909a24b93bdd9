# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py`` stopped by Ctrl-C or SIGTERM ends with one line that
says what it leaves, and 128 + the signal.

A long run (a folder of thousands of videos) stopped with Ctrl-C ended with
a traceback of what it was running (a softmax in mmaction2's head) and
exit status -2, and did not say that nothing had been printed or written,
nor that an ``--out`` file of an earlier run was still whole.
"""
import os
import signal
import subprocess
import sys

import pytest
from checkpoint_makers import save_stock_video_checkpoint
from media_files import write_clip
from process_table import default_stop_signals
from repo_paths import REPO_ROOT, TINY_VIDEO_CONFIG, TOOLS

from mmadaptformer.apis.infer_stop import InferStage

INFER = os.path.join(TOOLS, 'infer.py')


@pytest.fixture(scope='module')
def long_run(tmp_path_factory):
    """A checkpoint and a folder of 3000 inputs (links to one clip, each an
    input of its own): tens of seconds of classifying."""
    root = tmp_path_factory.mktemp('long_run')
    checkpoint = str(root / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    clip = write_clip(str(root / 'clip.mp4'), num_frames=12)
    videos = root / 'videos'
    videos.mkdir()
    for i in range(3000):
        os.symlink(clip, videos / f'v{i:04d}.mp4')
    return checkpoint, str(videos)


def _stopped_run(long_run, out, signum, tmp_path):
    """Start the run, send ``signum`` once it classifies (its test
    pipeline's first read logs MMEngine's FileClient warning), and return
    its status, stdout and stderr."""
    checkpoint, videos = long_run
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p),
        OMP_NUM_THREADS='1')
    # A file, not a pipe: read only after the end, a full pipe would stop
    # the run.
    with open(tmp_path / 'stdout.txt', 'w+') as stdout:
        proc = subprocess.Popen([
            sys.executable, INFER, TINY_VIDEO_CONFIG, checkpoint, videos,
            '--out', out
        ],
                                cwd=REPO_ROOT,
                                env=env,
                                stdout=stdout,
                                stderr=subprocess.PIPE,
                                text=True,
                                preexec_fn=default_stop_signals)
        err = []
        for line in proc.stderr:
            err.append(line)
            if '"FileClient" will be deprecated' in line:
                break
        proc.send_signal(signum)
        _, rest = proc.communicate(timeout=120)
        stdout.seek(0)
        return proc.returncode, stdout.read(), ''.join(err) + rest


@pytest.mark.parametrize('signum, cause', [
    (signal.SIGINT, 'Ctrl-C (SIGINT)'),
    (signal.SIGTERM, 'SIGTERM'),
])
def test_a_stopped_run_ends_with_one_line(long_run, tmp_path, signum, cause):
    out = tmp_path / 'results' / 'results.json'
    out.parent.mkdir()
    out.write_text('{"from": "an earlier run"}\n')
    status, stdout, err = _stopped_run(long_run, str(out), signum, tmp_path)
    assert status == 128 + signum, err[-3000:]
    assert 'Traceback' not in err, err[-3000:]
    assert err.strip().splitlines()[-1] == (
        f'infer.py: stopped by {cause}: no result was printed or written '
        '(they come once every input is classified); '
        f'{out} was not written (the file of that name from before is left '
        'as it was)')
    assert stdout == ''
    assert out.read_text() == '{"from": "an earlier run"}\n'
    # No temporary file of the atomic write is left beside it.
    assert os.listdir(out.parent) == ['results.json']


def test_what_each_stage_leaves():
    stage = InferStage()
    assert stage.left().startswith('no result was printed or written')
    stage.start('r.json', 'vis')
    stage.reach('drawing')
    assert stage.left() == ('the results were printed; the drawings in vis '
                            'were cut short; r.json was not written')
    stage.reach('written')
    assert stage.left() == ('the results were printed; they were written '
                            'to r.json')
    stage.start('-', None)
    stage.reach('printing')
    assert stage.left() == 'the result lines were cut short'
    with pytest.raises(ValueError, match="stage 'done': expected one of"):
        stage.reach('done')
