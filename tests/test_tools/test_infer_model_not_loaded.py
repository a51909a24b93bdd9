# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py`` when its model (or every ``--task``) cannot be
loaded: the error is said once, as ``model NAME: ERROR ...`` (``task``
only for a ``--task``), its list of keys on lines of their own, then that
nothing was classified; no ``--out`` is written (one from before is left
as it was) and the exit status is 1.

Before, the line read ``task tiny_adaptformer_video: ERROR ... Nothing of
it was loaded.\\n2 keys with other shapes ...`` (a literal backslash-n,
and "task" with no ``--task`` given), and ``--out`` was written with an
error for every input, as if each had been tried."""
import json

import pytest
import torch
from adapter_only_files import built_with_adapter_only
from checkpoint_makers import save_stock_image_checkpoint
from media_files import write_clip
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

NAME = 'tiny_adaptformer_video'


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """An adapter-only checkpoint of the tiny AdaptFormer video config, a
    stock image backbone (the wrong ``--pretrained``), a video."""
    root = tmp_path_factory.mktemp('not_loaded')
    _, _, checkpoint = built_with_adapter_only(TINY_ADAPTFORMER_VIDEO_CONFIG)
    adapters = str(root / 'adapters.pth')
    torch.save(checkpoint, adapters)
    image = str(root / 'image.pth')
    save_stock_image_checkpoint(image)
    return dict(
        root=root,
        adapters=adapters,
        image=image,
        video=write_clip(str(root / 'clip.mp4'), num_frames=12))


def _run(files, argv):
    return run_tool(
        ['infer.py'] + argv,
        cwd=str(files['root']),
        check=False,
        separate_stderr=True)


def _error_lines(stderr: str, start: str):
    """The lines of the load error that starts with ``start``, and the
    lines from the one that says nothing was classified on."""
    lines = stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    end = next(i for i, line in enumerate(lines)
               if line.startswith('Nothing was classified'))
    return lines[first:end], lines[end:]


def test_a_model_not_loaded_is_said_in_lines_and_writes_nothing(files):
    out = files['root'] / 'old.json'
    out.write_text('{"kept": 1}\n')
    proc = _run(files, [
        TINY_ADAPTFORMER_VIDEO_CONFIG, files['adapters'], files['video'],
        '--pretrained', files['image'], '--out',
        str(out)
    ])
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ''
    assert 'Traceback' not in proc.stderr
    assert f'task {NAME}' not in proc.stderr, proc.stderr
    error, after = _error_lines(proc.stderr, f'model {NAME}: ERROR ')
    assert error[0].startswith(
        f'model {NAME}: ERROR {files["image"]} (the pretrained backbone, '
        '--pretrained): StateDictMismatchError: '), error
    # Its list of keys on lines of their own, none with a literal \n.
    assert len(error) > 3, error
    assert not any('\\n' in line for line in error), error
    assert '2 keys with other shapes (key: checkpoint shape vs model shape):' \
        in error
    assert after == [
        'Nothing was classified: the model could not be loaded (the error '
        f'above); no result was printed; {out} was not written (the file of '
        'that name from before is left as it was).'
    ]
    assert out.read_text() == '{"kept": 1}\n'
    # No file, where there was none; --out - prints no JSON.
    new = files['root'] / 'new.json'
    proc = _run(files, [
        TINY_ADAPTFORMER_VIDEO_CONFIG, files['adapters'], files['video'],
        '--pretrained', files['image'], '--out',
        str(new)
    ])
    assert proc.returncode == 1 and not new.exists()
    assert proc.stderr.rstrip().endswith(f'{new} was not written.')
    proc = _run(files, [
        TINY_ADAPTFORMER_VIDEO_CONFIG, files['adapters'], files['video'],
        '--pretrained', files['image'], '--out', '-'
    ])
    assert proc.returncode == 1 and proc.stdout == ''
    assert proc.stderr.rstrip().endswith(
        'no result was printed (stdout holds no JSON).')


def test_no_task_loaded_writes_nothing(files):
    out = files['root'] / 'tasks.json'
    proc = _run(files, [
        '--task', 'a', TINY_ADAPTFORMER_VIDEO_CONFIG, files['adapters'],
        files['video'], '--pretrained', files['image'], '--out',
        str(out)
    ])
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ''
    error, after = _error_lines(proc.stderr, 'task a: ERROR ')
    assert not any('\\n' in line for line in error), error
    assert after == [
        'Nothing was classified: no --task could be loaded (the error '
        f'above); no result was printed; {out} was not written.'
    ]
    assert not out.exists()


def test_a_task_not_loaded_beside_one_that_is_keeps_its_errors(
        files, tmp_path):
    """Guard of kept behaviour: a task that cannot be loaded beside one
    that is gets its error in every input of --out, and the other
    answers."""
    from adapter_tasks import random_task_checkpoints
    good, = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction',
                                    tmp_path, (1, ))
    out = tmp_path / 'r.json'
    proc = _run(files, [
        '--task', 'good', TINY_ADAPTFORMER_VIDEO_CONFIG, good, '--task', 'bad',
        TINY_ADAPTFORMER_VIDEO_CONFIG,
        str(files['image']), files['video'], '--out',
        str(out)
    ])
    assert proc.returncode == 1, proc.stderr
    answers = json.loads(out.read_text())[files['video']]
    assert set(answers['good']) == {'label', 'class', 'scores'}
    assert set(answers['bad']) == {'error'}
    assert f'task bad: ERROR {answers["bad"]["error"]}' in proc.stderr
    assert 'Nothing was classified' not in proc.stderr
