# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py --task`` with two rawframe tasks whose test sets name a
clip's frames differently (the tiny rawframe config, and a derived one
with another ``filename_tmpl`` and ``start_index``): each clip folder is
drawn as the task that answered it names its frames."""
import cv2
import pytest
from adapter_tasks import random_task_checkpoints
from drawn_frames import assert_drawn, gray_frames, read_video
from test_apis.test_frame_folders import rawframe_config


@pytest.fixture(scope='module')
def namings(tmp_path_factory):
    """Task ``a`` names frames ``img_00001.jpg``, ... (the config's), task
    ``b`` ``000000.jpg``, ...; both on one backbone. A clip of each
    naming (12 and 7 frames) in ``clips/``."""
    root = tmp_path_factory.mktemp('frame_namings')
    a = rawframe_config(root / 'a.py')
    b = rawframe_config(
        root / 'b.py', filename_tmpl='{:06d}.jpg', start_index=0)
    checkpoint_a, checkpoint_b = random_task_checkpoints(
        a, 'mmaction', root, (1, 2))
    clips = {}
    for clip, template, indices in (('ca', 'img_{:05}.jpg', range(1, 13)),
                                    ('cb', '{:06d}.jpg', range(0, 7))):
        folder = root / 'clips' / clip
        folder.mkdir(parents=True)
        frames = gray_frames(len(indices))
        for index, frame in zip(indices, frames):
            cv2.imwrite(str(folder / template.format(index)), frame[..., ::-1])
        clips[str(folder)] = frames
    return dict(
        root=root,
        tasks=['--task', 'a', a, checkpoint_a, '--task', 'b', b, checkpoint_b],
        clips=clips)


def test_each_clip_folder_is_drawn_as_the_task_that_read_it_names_frames(
        infer, namings, tmp_path, capsys, clean_loggers):
    """Before, the first task's naming drew every folder: the clip of task
    b's naming was "cannot be drawn" (it holds no img_00001.jpg), and the
    exit status was 1: each clip was an error for the other task."""
    show = tmp_path / 'vis'
    argv = namings['tasks'] + [
        str(namings['root'] / 'clips'), '--show-dir',
        str(show)
    ]
    assert infer(argv) == 0
    err = capsys.readouterr().err
    # Each clip is of one task's naming; the other skips it.
    assert 'task a: skipped 1 input of a kind' in ' '.join(err.split())
    assert 'cannot be drawn' not in err
    assert f'Drawings of 2 inputs written to {show}' in err
    for clip, frames in namings['clips'].items():
        drawn = read_video(str(show / f'{clip.rsplit("/", 1)[1]}.mp4'))
        assert len(drawn) == len(frames)
        for frame, source in zip(drawn, frames):
            assert_drawn(frame, source)


def test_each_task_reads_a_clip_folder_as_its_own_test_set_names_frames(
        namings, clean_loggers):
    """Tasks of one test pipeline whose test sets name frames differently
    are two pipeline groups; each answers the clip of its naming with the
    scores it gives alone. Before, they were one group that read folders
    as the first task names frames: the folder of the clips raised
    InferenceInputError (a traceback from tools/infer.py)."""
    import torch

    from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer
    tasks = namings['tasks']
    engine = MultiTaskRecognizer()
    for at in (1, 5):
        engine.add_task(*tasks[at:at + 3])
    assert engine.pipeline_groups == [['a'], ['b']]
    results = engine(str(namings['root'] / 'clips'))
    clip_a, clip_b = namings['clips']
    for task, clip in (('a', clip_a), ('b', clip_b)):
        other = 'b' if task == 'a' else 'a'
        assert 'holds no frames named as' in results[clip][other]['skipped']
        at = tasks.index(task)
        alone = ModelInferencer(*tasks[at + 1:at + 3], name=task)(clip)
        assert torch.allclose(
            torch.tensor(results[clip][task]['scores']),
            torch.tensor(alone[clip][task]['scores']),
            rtol=0,
            atol=1e-5)
