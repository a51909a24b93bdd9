# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A label map that names a class twice is refused where inference reads
it (:func:`~mmadaptformer.apis.class_names`), as the datasets refuse it
(``load_class_names``), naming the file, both lines and the name: through
``tools/infer.py --label-map`` (exit status 2, for one model and for a
``--task``), ``ModelInferencer(label_map=)`` and
``MultiTaskRecognizer.add_task(label_map=)``. Before, ``left\\nleft\\n``
was taken and printed ``left (0.74), left (0.26)``: the two labels
could not be told apart."""
import pytest
from adapter_tasks import random_task_checkpoints
from checkpoint_makers import save_as_built_checkpoint
from media_files import write_clip
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer import apis


def _message(label_map):
    return (f"{label_map}, line 2: 'left' again (first on line 1); every "
            'label needs its own name.')


@pytest.fixture
def twice(tmp_path):
    path = tmp_path / 'twice.txt'
    path.write_text('left\nleft\n')
    return str(path)


def test_model_inferencer_refuses_a_name_given_twice(tmp_path, twice,
                                                     clean_loggers):
    checkpoint = save_as_built_checkpoint(TINY_VIDEO_CONFIG,
                                          tmp_path / 'full.pth')
    with pytest.raises(apis.LabelMapError) as info:
        apis.ModelInferencer(TINY_VIDEO_CONFIG, checkpoint, label_map=twice)
    assert str(info.value) == _message(twice)


def test_add_task_refuses_a_name_given_twice(tmp_path, twice, clean_loggers):
    first, = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction',
                                     tmp_path, (1, ))
    engine = apis.MultiTaskRecognizer()
    with pytest.raises(apis.LabelMapError) as info:
        engine.add_task(
            'a', TINY_ADAPTFORMER_VIDEO_CONFIG, first, label_map=twice)
    assert str(info.value.__cause__) == _message(twice)
    assert engine.tasks == []


def test_infer_refuses_a_name_given_twice(tmp_path, twice):
    first, = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction',
                                     tmp_path, (1, ))
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    out = tmp_path / 'r.json'
    runs = {
        '--label-map ':
        [TINY_ADAPTFORMER_VIDEO_CONFIG, first, clip, '--label-map', twice],
        '--label-map of task a ': [
            '--task', 'a', TINY_ADAPTFORMER_VIDEO_CONFIG, first, clip,
            '--label-map', f'a={twice}'
        ],
    }
    for role, argv in runs.items():
        proc = run_tool(
            ['infer.py'] + argv + ['--out', str(out)],
            cwd=str(tmp_path),
            check=False,
            separate_stderr=True)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == '', proc.stdout
        assert proc.stderr.rstrip().endswith(
            f'infer.py: error: {role}{_message(twice)}'), proc.stderr
        assert not out.exists()
