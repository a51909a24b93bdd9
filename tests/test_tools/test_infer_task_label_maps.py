# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py --task ... --label-map NAME=FILE``: each task's
classes named by its own label map, in the results, the printed lines and
the ``--show-dir`` drawings; the other tasks keep their checkpoint's
names. Before, any ``--label-map`` with ``--task`` was refused ("is for
one model"), and tasks whose checkpoints carry no class names could not be
named from the command line."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from drawn_frames import TEXT_CORNER, gray_frames, read_video

from mmadaptformer.testing import write_video


@pytest.fixture(scope='module')
def tasks(video_tasks, tmp_path_factory):
    """Two tasks on one backbone: ``full`` (no class names anywhere) and
    ``last``, whose checkpoint records its classes; one video to classify,
    of a size the drawings show."""
    from mmadaptformer.utils import safe_torch_load
    root = tmp_path_factory.mktemp('task_label_maps')
    ckpt = safe_torch_load(video_tasks['last']['checkpoint'])
    ckpt['meta']['dataset_meta'] = dict(classes=('down', 'up'))
    named = str(root / 'last_named.pth')
    torch.save(ckpt, named)
    video = write_video(str(root / 'in' / 'clip.mp4'), gray_frames(9))
    full = video_tasks['full']
    return dict(
        full=['--task', 'full', full['config'], full['checkpoint']],
        last=['--task', 'last', video_tasks['last']['config'], named],
        config=full['config'],
        checkpoint=full['checkpoint'],
        video=video)


def _names(path, names) -> str:
    path.write_text(''.join(f'{name}\n' for name in names))
    return str(path)


def _refusal(infer, argv, capsys) -> str:
    """The one line ``infer`` refused ``argv`` with (exit status 2)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        infer(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err, err
    return err.strip().splitlines()[-1].partition(': error: ')[2]


def test_each_task_is_named_by_its_own_label_map(infer, tasks, tmp_path,
                                                 capsys, clean_loggers):
    names = _names(tmp_path / 'motion.txt', ['moving left', 'moving right'])
    out = tmp_path / 'r.json'
    capsys.readouterr()
    assert infer(
        tasks['full'] + tasks['last'] +
        [tasks['video'], '--label-map', f'full={names}', '--out',
         str(out)]) == 0
    answers = json.loads(out.read_text())[tasks['video']]
    full, last = answers['full'], answers['last']
    assert full['class'] == ['moving left', 'moving right'][full['label']]
    # Without a map of its own, a task keeps its checkpoint's names.
    assert last['class'] == ['down', 'up'][last['label']]
    printed = capsys.readouterr().out
    assert f'{tasks["video"]}: full: {full["class"]} (' in printed
    assert f'{tasks["video"]}: last: {last["class"]} (' in printed
    # The scores are those of the run without it.
    plain = tmp_path / 'plain.json'
    assert infer(tasks['full'] + tasks['last'] +
                 [tasks['video'], '--out', str(plain)]) == 0
    before = json.loads(plain.read_text())[tasks['video']]
    assert before['full']['class'] is None
    assert before['full']['scores'] == full['scores']
    assert before['last'] == last


def test_a_task_label_map_names_the_drawings(infer, tasks, tmp_path, capsys,
                                             clean_loggers):
    """A task's label map names its classes in ``--show-dir`` as
    ``--label-map FILE`` does for one model (the task is named as the
    config file, so the drawings are alike), not as without one."""
    names = _names(tmp_path / 'motion.txt', ['moving left', 'moving right'])
    runs = dict(
        task=tasks['full'] + ['--label-map', f'full={names}'],
        model=[tasks['config'], tasks['checkpoint'], '--label-map', names],
        plain=tasks['full'])
    drawn = {}
    for run, argv in runs.items():
        show = tmp_path / run
        assert infer(argv + [tasks['video'], '--show-dir', str(show)]) == 0
        drawn[run] = read_video(str(show / 'clip.mp4'))
    np.testing.assert_array_equal(drawn['task'], drawn['model'])
    corner = (slice(None), ) + TEXT_CORNER
    assert not np.array_equal(drawn['task'][corner], drawn['plain'][corner])


def test_task_label_maps_that_cannot_work_are_refused_before_loading(
        infer, tasks, tmp_path, capsys, clean_loggers):
    """An unknown task, a FILE without NAME=, a task given two maps, a
    missing map, and an --out or --show-dir drawing over a map are refused
    in one line before any task loads: the checkpoints here are not
    checkpoints, so a task that loaded would fail with exit status 1."""
    junk = tmp_path / 'junk.pth'
    junk.write_text('not a checkpoint\n')
    a = ['--task', 'a', tasks['config'], str(junk)]
    b = ['--task', 'b', tasks['config'], str(junk)]
    names = _names(tmp_path / 'names.txt', ['left', 'right'])
    other = _names(tmp_path / 'other.txt', ['left', 'right'])
    video = tasks['video']
    # A drawing of the video would be written over a label map named so.
    show = tmp_path / 'vis'
    show.mkdir()
    in_show = _names(show / 'clip.mp4', ['left', 'right'])
    gone = str(tmp_path / 'gone.txt')
    cases = [
        (a + b + [video, '--label-map', f'c={names}'],
         f"--label-map c={names}: there is no --task 'c'; the tasks are a, b"),
        (a + [video, '--label-map', names],
         f'--label-map {names}: with --task, say which task it names the '
         f'classes of, --label-map NAME={names} (the tasks: a)'),
        (a + b + [
            video, '--label-map', f'a={names}', '--label-map', f'b={names}',
            '--label-map', f'a={other}'
        ], f'--label-map a={other}: task a is given two label maps ({names} '
         f'and {other}); give it one'),
        (a + b + [video, '--label-map', f'b={gone}'],
         f'--label-map of task b {gone}: no such file'),
        (a + [video, '--label-map', f'a={names}', '--out', names],
         f'--out {names} is the same file as the --label-map of task a '
         f'{names}: writing it would replace the --label-map of task a. Give '
         'another file.'),
        (a + [video, '--label-map', f'a={in_show}', '--show-dir',
              str(show)], f'--show-dir {show}: the drawing of {video} would '
         f'be written over the --label-map of task a {in_show}; give another '
         'folder.'),
        ([
            tasks['config'], tasks['checkpoint'], video, '--label-map', names,
            '--label-map', other
        ], '--label-map is given 2 times, but one model takes one file '
         '(--label-map NAME=FILE, one per task, is for --task)'),
    ]
    for argv, line in cases:
        assert _refusal(infer, argv, capsys) == line, argv
    for path in (names, other, in_show):
        assert open(path).read() == 'left\nright\n'
    # The same command with a good map gets as far as loading the tasks.
    assert infer(a + [video, '--label-map', f'a={names}']) == 1


def test_a_task_label_map_that_does_not_fit_is_refused(infer, tasks, tmp_path,
                                                       capsys, clean_loggers):
    """As with one model: a map of another number of names than the task's
    classes, or with a blank line between names, is a bad argument (exit
    status 2, one line naming the task and the file, nothing written), not
    a task error repeated in every input."""
    out = tmp_path / 'r.json'
    three = _names(tmp_path / 'three.txt', ['a', 'b', 'c'])
    line = _refusal(
        infer, tasks['full'] + tasks['last'] +
        [tasks['video'], '--label-map', f'last={three}', '--out',
         str(out)], capsys)
    assert line == (f'--label-map of task last {three}: 3 class names, but '
                    'the model has 2 classes (one name per line, label 0 '
                    'first).')
    gap = tmp_path / 'gap.txt'
    gap.write_text('a\n\nb\n')
    line = _refusal(
        infer, tasks['full'] +
        [tasks['video'], '--label-map', f'full={gap}', '--out',
         str(out)], capsys)
    assert line.startswith(f'--label-map of task full {gap}, line 2: a blank '
                           'line between class names')
    assert not osp.exists(out)
