# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A complete ``tools/infer.py`` run with ``--out results.json`` removes
the ``results.partial.json`` that an earlier stopped run of that ``--out``
left, and says so in one line; a file of that name whose content is not
infer.py's results is left as it is.

Before, the stale partial file stayed beside the complete one, and a user
could not tell which of the two was current."""
import json
import os
import signal

import pytest
from checkpoint_makers import save_stock_video_checkpoint
from media_files import write_clip
from repo_paths import TINY_VIDEO_CONFIG
from stopped_infer import linked_inputs, stopped_infer
from tool_runners import run_tool

from mmadaptformer.apis.infer_partial import is_infer_results


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp('stale_partial')
    checkpoint = str(root / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    clip = write_clip(str(root / 'clip.mp4'), num_frames=12)
    return dict(root=root, checkpoint=checkpoint, clip=clip)


def _complete_run(model, out, *inputs):
    return run_tool([
        'infer.py', TINY_VIDEO_CONFIG, model['checkpoint'], *inputs, '--out',
        out
    ],
                    cwd=str(model['root']),
                    separate_stderr=True)


def _removed(partial, out):
    return (f'Removed {partial}, the partial results of an earlier stopped '
            f"run; {out} holds this run's complete results")


def test_a_complete_run_removes_a_stopped_runs_partial_results(
        model, tmp_path):
    out = tmp_path / 'results.json'
    partial = tmp_path / 'results.partial.json'
    videos = linked_inputs(tmp_path)
    status, _, err = stopped_infer(
        [TINY_VIDEO_CONFIG, model['checkpoint'], videos, '--out',
         str(out)], signal.SIGINT, tmp_path)
    assert status == 130, err[-3000:]
    stopped = json.loads(partial.read_text())
    assert stopped and not out.exists()
    proc = _complete_run(model, str(out), model['clip'])
    assert list(json.loads(out.read_text())) == [model['clip']]
    assert not partial.exists()
    lines = proc.stderr.strip().splitlines()
    assert lines[-2:] == [
        f'Results of 1 input written to {out}',
        _removed(partial, out)
    ], proc.stderr
    # A second complete run has nothing to remove, and says nothing.
    proc = _complete_run(model, str(out), model['clip'])
    assert proc.stderr.strip().splitlines()[-1] == \
        f'Results of 1 input written to {out}'


@pytest.mark.parametrize('content', [
    '{"notes": "my own file"}\n', 'not JSON at all\n', '{}\n',
    '{"clip.mp4": {"tiny": {"label": 0}}}\n'
])
def test_a_file_of_that_name_that_is_not_infer_results_is_left(
        model, tmp_path, content):
    """Guard: never delete a user's unrelated file; nothing is said."""
    out = tmp_path / 'results.json'
    partial = tmp_path / 'results.partial.json'
    partial.write_text(content)
    proc = _complete_run(model, str(out), model['clip'])
    assert partial.read_text() == content
    assert 'partial' not in proc.stderr, proc.stderr


def test_a_link_of_that_name_is_left(model, tmp_path):
    """Guard: a link is not infer.py's file, even to its results."""
    out = tmp_path / 'results.json'
    kept = tmp_path / 'kept.json'
    _complete_run(model, str(kept), model['clip'])
    partial = tmp_path / 'results.partial.json'
    os.symlink(kept, partial)
    _complete_run(model, str(out), model['clip'])
    assert partial.is_symlink() and kept.exists()


def test_results_with_errors_and_failed_tasks_are_recognised(tmp_path):
    """The shapes of infer.py's answers: scores, an input's own error, a
    task's error, a task that skipped the input."""
    assert is_infer_results({
        'a.mp4': {
            't': {
                'label': 1,
                'class': None,
                'scores': [0.4, 0.6]
            }
        },
        'b.mp4': {
            'error': 'b.mp4: cannot be decoded'
        },
        'c.png': {
            't': {
                'error': 'cannot be loaded'
            },
            'u': {
                'skipped': 'an image'
            }
        },
    })
    for other in ([], {
            'a': 1
    }, {
            'a': {}
    }, {
            'a': {
                'error': 3
            }
    }, {
            'a': {
                't': {
                    'label': 1,
                    'scores': []
                }
            }
    }):
        assert not is_infer_results(other), other
