# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Multi-task inference that mixes a task trained on extracted frames (the
tiny rawframe config) with one trained on video files (the tiny video
config), on one shared backbone: real JPEG frames, a real mp4, the real
test pipelines, ``MultiTaskRecognizer`` and ``tools/infer.py``."""
import json
import logging

import numpy as np
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool,
                     save_as_built_checkpoint)
from test_apis.test_frame_folders import rawframe_config, write_frames

from mmadaptformer.apis import (InferenceInputError, ModelInferencer,
                                MultiTaskRecognizer)


@pytest.fixture(scope='module')
def mixed(tmp_path_factory):
    """A rawframe task and a video task on one backbone (both built from
    seed 0), and a folder with two clip folders, a video, a hidden clip
    folder and hidden files."""
    from mmadaptformer.testing import write_video
    root = tmp_path_factory.mktemp('mixed')
    raw = rawframe_config(root / 'rawframe.py')
    video = str(TINY_ADAPTFORMER_VIDEO_CONFIG)
    data = root / 'data'
    clips = [
        write_frames(data / name, range(1, 13), seed=i)[0]
        for i, name in enumerate(('b_clip', 'nested/a_clip'))
    ]
    # Hidden: a clip folder, a Mac resource fork beside the video, and
    # one inside a clip folder.
    write_frames(data / '.hidden_clip', range(1, 13))
    (data / '._z.mp4').write_bytes(b'\0\5\26\7')
    (data / 'b_clip' / '._img_00001.jpg').write_bytes(b'\0\5\26\7')
    rng = np.random.default_rng(0)
    mp4 = write_video(
        str(data / 'z.mp4'),
        rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8))
    return dict(
        root=root,
        data=str(data),
        clips=clips,
        video=mp4,
        raw=(raw, save_as_built_checkpoint(raw, root / 'raw.pth')),
        vid=(video, save_as_built_checkpoint(video, root / 'vid.pth')))


def _engine(mixed, order):
    engine = MultiTaskRecognizer()
    for name in order:
        engine.add_task(name, *mixed[name])
    return engine


@pytest.mark.parametrize('order', [('raw', 'vid'), ('vid', 'raw')])
def test_each_task_answers_its_own_kind_whatever_the_task_order(mixed, order):
    """Before, the first task's kind decided how the folder was expanded:
    with the rawframe task first the video was left out, with the video
    task first the clip folders were."""
    results = _engine(mixed, order)(mixed['data'])
    # Clip folders and videos, in one sorted order.
    assert list(results) == sorted(mixed['clips'] + [mixed['video']])
    alone = {
        name: ModelInferencer(*mixed[name], name=name)
        for name in ('raw', 'vid')
    }
    for clip in mixed['clips']:
        assert list(results[clip]) == list(order)
        want = alone['raw'](clip)[clip]['raw']['scores']
        assert torch.allclose(
            torch.tensor(results[clip]['raw']['scores']),
            torch.tensor(want),
            rtol=0,
            atol=1e-5)
        # The video task skips a clip folder, naming why it cannot read
        # it: no failure, as the rawframe task reads it.
        assert list(results[clip]['vid']) == ['skipped']
        assert results[clip]['vid']['skipped'].startswith(
            f'{clip}: is a folder, but the test pipeline '
            "(test_dataloader.dataset.pipeline: ['DecordInit', ")
        assert 'a folder of extracted frames is classified with a config ' \
            'whose test pipeline reads them with RawFrameDecode' in \
            results[clip]['vid']['skipped']
    video = mixed['video']
    want = alone['vid'](video)[video]['vid']['scores']
    assert torch.allclose(
        torch.tensor(results[video]['vid']['scores']),
        torch.tensor(want),
        rtol=0,
        atol=1e-5)
    assert results[video]['raw']['skipped'].startswith(
        f'{video}: the test pipeline (test_dataloader.dataset.pipeline: '
        "['SampleFrames', 'RawFrameDecode', ")
    assert 'opens no video file (RawFrameDecode reads extracted frames)' in \
        results[video]['raw']['skipped']


def test_an_input_no_task_reads_stays_an_error(mixed, tmp_path):
    """A video asked of the rawframe task alone is its error, a clip folder
    asked of the video task alone is refused (no other task reads them: a
    guard of kept behaviour); a video damaged in a mixed run is the video
    task's error, and the rawframe task skips it (before, an error for
    both)."""
    engine = _engine(mixed, ('raw', 'vid'))
    video, clip = mixed['video'], mixed['clips'][0]
    assert 'opens no video file' in engine(video, tasks='raw')[video]['error']
    with pytest.raises(InferenceInputError, match='a folder without video'):
        engine(clip, tasks='vid')
    damaged = tmp_path / 'damaged.mp4'
    damaged.write_bytes(open(video, 'rb').read()[:300])
    answers = engine(str(damaged))[str(damaged)]
    assert 'error' in answers['vid']
    assert 'opens no video file' in answers['raw']['skipped']


def test_hidden_entries_in_a_folder_of_clips_are_counted_in_a_warning(
        mixed, log_records):
    """Before, hidden entries of a folder of clips were skipped without a
    word (a folder of videos said so)."""
    raw = ModelInferencer(*mixed['raw'], name='raw')
    results = raw(mixed['data'])
    assert list(results) == sorted(mixed['clips'])
    hidden = [
        r.getMessage() for r in log_records
        if r.levelno == logging.WARNING and 'hidden' in r.getMessage()
    ]
    data = mixed['data']
    assert hidden == [
        f'{data}: left out 3 hidden files or folders (names starting with '
        f"'.'), e.g. {data}/._z.mp4."
    ]
    # The same count when the folder is expanded for both kinds.
    log_records.clear()
    _engine(mixed, ('vid', 'raw'))(data)
    assert [
        r.getMessage() for r in log_records
        if r.levelno == logging.WARNING and 'hidden' in r.getMessage()
    ] == hidden


def test_a_folder_with_neither_kind_names_both(mixed, tmp_path):
    """Before, the folder was refused for the first task's kind alone."""
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'notes.txt').write_text('no clip\n')
    engine = _engine(mixed, ('vid', 'raw'))
    with pytest.raises(
            InferenceInputError,
            match=f'^{tmp_path}: holds neither a clip folder of frames named '
            r"as filename_tmpl 'img_\{:05\}.jpg' from .*rawframe.py: "
            r'test_dataloader.dataset, start_index 1 gives them \(expected '
            r'img_00001.jpg, ...\) nor a file with one of .mp4, .avi, '):
        engine(str(tmp_path))


def test_infer_cli_mixes_a_rawframe_and_a_video_task(mixed, tmp_path):
    """Before, tools/infer.py expanded the folder for the first --task's
    kind: the other task's inputs were never classified."""
    outs = []
    for order in (('raw', 'vid'), ('vid', 'raw')):
        out = tmp_path / f'{order[0]}.json'
        args = ['infer.py']
        for name in order:
            args += ['--task', name, *mixed[name]]
        proc = run_tool(
            args + [mixed['data'], '--out', out],
            cwd=str(tmp_path),
            check=False,
            separate_stderr=True)
        # Each input was answered by the task that reads its kind and
        # skipped by the other: no failure. Before, the exit status was 1.
        assert proc.returncode == 0, proc.stderr
        stderr = ' '.join(proc.stderr.split())
        assert 'task vid: skipped 2 inputs of a kind its test pipeline ' \
            'does not read, which another task answered: e.g. ' \
            f'{mixed["clips"][0]}: is a folder' in stderr
        assert 'task raw: skipped 1 input of a kind' in stderr
        assert 'ERROR' not in proc.stdout + proc.stderr
        results = json.loads(out.read_text())
        assert list(results) == sorted(mixed['clips'] + [mixed['video']])
        assert [list(a) for a in results.values()] == [list(order)] * 3
        for clip in mixed['clips']:
            assert 'skipped' in results[clip]['vid']
            assert 'label' in results[clip]['raw']
        assert 'skipped' in results[mixed['video']]['raw']
        assert 'label' in results[mixed['video']]['vid']
        assert 'left out 3 hidden files or folders' in ' '.join(
            proc.stderr.split())
        outs.append({
            path: {name: answers[name]
                   for name in sorted(answers)}
            for path, answers in results.items()
        })
    assert outs[0] == outs[1]


def test_infer_cli_reads_each_config_once_per_parse(mixed, tmp_path,
                                                    monkeypatch):
    """Before, parsing read each config three times (the frame folders,
    the extensions, the --out check), the first task's four."""
    from mmadaptformer.apis import infer_cli, infer_configs
    read = []

    def counted(path, *args, **kwargs):
        read.append(path)
        return load(path, *args, **kwargs)

    load = infer_configs.load_config_file
    monkeypatch.setattr(infer_configs, 'load_config_file', counted)
    args = infer_cli.parse_infer_args([
        '--task', 'raw', *map(str, mixed['raw']), '--task', 'vid',
        *map(str, mixed['vid']), mixed['data'], '--out',
        str(tmp_path / 'r.json')
    ])
    assert sorted(read) == sorted([str(mixed['raw'][0]), mixed['vid'][0]])
    assert args.files == sorted(mixed['clips'] + [mixed['video']])
    # An --out that a config reads is still refused.
    with pytest.raises(SystemExit):
        infer_cli.parse_infer_args([
            '--task', 'raw', *map(str, mixed['raw']), mixed['data'], '--out',
            str(mixed['raw'][0])
        ])


def test_a_config_that_cannot_be_read_is_named_when_its_task_loads(
        mixed, tmp_path):
    """A guard of kept behaviour: a config that does not parse is no
    parse error (exit 2) but the task's error, and the folder is expanded
    for the other task."""
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(\n')
    out = tmp_path / 'r.json'
    proc = run_tool([
        'infer.py', '--task', 'raw', *mixed['raw'], '--task', 'bad', broken,
        mixed['vid'][1], mixed['data'], '--out', out
    ],
                    cwd=str(tmp_path),
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 1, proc.stderr
    assert f'task bad: ERROR ConfigError: The config {broken} is not ' \
        'valid Python' in proc.stderr
    results = json.loads(out.read_text())
    for clip in mixed['clips']:
        assert 'label' in results[clip]['raw']
        assert 'error' in results[clip]['bad']
