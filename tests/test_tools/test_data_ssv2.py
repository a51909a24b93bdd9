# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/data/ssv2/build_file_list.py, mmadaptformer.datasets.ssv2 and the
SSv2 recipes' data settings.

The fixture is a tiny copy of the owners' distribution: ``<id>.webm`` videos
and the three JSON files, with real templates (brackets included) and a
labels JSON whose key order is not its index order.
"""
import json
import os.path as osp

import numpy as np
import pytest
from helpers import (CONFIGS, RED_NORMALISED, load_tool, recipe_channel_means,
                     run_tool)
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmadaptformer.datasets import AnnotationError
from mmadaptformer.datasets.ssv2 import (build_ssv2_file_lists,
                                         load_ssv2_labels, parse_ssv2_split,
                                         ssv2_template_to_class)
from mmadaptformer.testing import write_video

TOOL = 'data/ssv2/build_file_list.py'
# Key order differs from index order, as a position-based label would show.
LABELS = {
    'Pushing something from left to right': '2',
    'Approaching something with your camera': '0',
    'Putting something on a surface': '3',
    'Holding something next to something': '1',
}
TEMPLATES = {
    0: 'Approaching [something] with your camera',
    1: 'Holding [something] next to [something]',
    2: 'Pushing [something] from left to right',
    3: 'Putting [something] on a surface',
}
# (id, label) per split.
TRAIN = [('78687', 1), ('42326', 2), ('100', 0), ('3', 3), ('5551', 2)]
VAL = [('24', 0), ('7', 3), ('9001', 1)]
FRAMES, HEIGHT, WIDTH = 8, 48, 32
RECIPES = [
    'adaptformer_vitb_ssv2.py', 'baselines/full-finetune_vitb_ssv2.py',
    'baselines/linear-probe_vitb_ssv2.py', 'baselines/vpt-deep_vitb_ssv2.py'
]
# The classes of the ``red`` fixture in label order: the real class 0 and
# 173 made up.
RED_CLASSES = (TEMPLATES[0].replace('[something]', 'something'), ) + tuple(
    f'Doing something number {i}' for i in range(1, 174))


def _entry(video_id, label):
    return {
        'id': video_id,
        'label': TEMPLATES[label].replace('[something]', 'a cup').lower(),
        'template': TEMPLATES[label],
        'placeholders': ['a cup'] * TEMPLATES[label].count('['),
    }


def _color(video_id):
    """A distinct colour per video, so a decoded frame names its file."""
    rng = np.random.default_rng(int(video_id))
    return rng.integers(30, 226, size=3).astype(np.uint8)


def _write_json(path, data):
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)
    return str(path)


@pytest.fixture(scope='module')
def raw(tmp_path_factory):
    """``root/annotations/*.json`` and ``root/videos/<id>.webm``."""
    root = tmp_path_factory.mktemp('ssv2')
    ann = root / 'annotations'
    ann.mkdir()
    _write_json(ann / 'something-something-v2-labels.json', LABELS)
    _write_json(ann / 'something-something-v2-train.json',
                [_entry(*s) for s in TRAIN])
    _write_json(ann / 'something-something-v2-validation.json',
                [_entry(*s) for s in VAL])
    for video_id, _ in TRAIN + VAL:
        frames = np.broadcast_to(_color(video_id),
                                 (FRAMES, HEIGHT, WIDTH, 3)).copy()
        write_video(str(root / 'videos' / f'{video_id}.webm'), frames)
    return root


def _files(root):
    ann = root / 'annotations'
    return (str(ann / 'something-something-v2-train.json'),
            str(ann / 'something-something-v2-validation.json'),
            str(ann / 'something-something-v2-labels.json'))


def _load_main():
    return load_tool(TOOL).main


def test_cli_lists_decode_with_mmaction(raw, tmp_path):
    out = tmp_path / 'sthv2'
    proc = run_tool([
        TOOL, raw / 'annotations', out, '--check-videos', '--video-dir',
        raw / 'videos', '--num-classes', '4'
    ],
                    cwd=tmp_path)
    assert 'all videos found' in proc.stdout
    assert f'train  {len(TRAIN):>7} videos' in proc.stdout
    assert f'val    {len(VAL):>7} videos' in proc.stdout
    for split, expected in (('train', TRAIN), ('val', VAL)):
        lines = (out / f'sthv2_{split}_list_videos.txt').read_text()
        assert lines == ''.join(f'{i}.webm {label}\n' for i, label in expected)
    assert (out / 'sthv2_label_map.txt').read_text().splitlines() == [
        'Approaching something with your camera',
        'Holding something next to something',
        'Pushing something from left to right',
        'Putting something on a surface'
    ]

    from mmaction.registry import DATASETS
    init_default_scope('mmaction')
    dataset = DATASETS.build(
        dict(
            type='VideoDataset',
            ann_file=str(out / 'sthv2_val_list_videos.txt'),
            data_prefix=dict(video=str(raw / 'videos')),
            pipeline=[
                dict(type='DecordInit'),
                dict(
                    type='SampleFrames',
                    clip_len=4,
                    frame_interval=1,
                    num_clips=1,
                    test_mode=True),
                dict(type='DecordDecode')
            ],
            test_mode=True))
    assert len(dataset) == len(VAL)
    for (video_id, label), item in zip(VAL, dataset):
        assert item['filename'] == str(raw / 'videos' / f'{video_id}.webm')
        assert item['label'] == label
        assert item['total_frames'] == FRAMES
        imgs = np.stack(item['imgs'])
        assert imgs.shape == (4, HEIGHT, WIDTH, 3)
        # VP9 is lossy; a flat colour survives to within a few levels.
        mean = imgs.reshape(-1, 3).mean(0)
        assert np.abs(mean - _color(video_id)).max() < 12, (video_id, mean)


def test_template_maps_to_its_labels_json_index(raw):
    train_json, _, labels_json = _files(raw)
    class_to_idx = load_ssv2_labels(labels_json, num_classes=4)
    assert ssv2_template_to_class('Pushing [something] from left to right'
                                  ) == 'Pushing something from left to right'
    assert class_to_idx['Pushing something from left to right'] == 2
    samples = parse_ssv2_split(train_json, class_to_idx)
    assert [(s.filename, s.label) for s in samples] == [(f'{i}.webm', label)
                                                        for i, label in TRAIN]
    assert samples[1].source == f"{train_json}: entry 1 (id '42326')"


def test_unknown_template_names_file_entry_and_id(raw, tmp_path):
    _, _, labels_json = _files(raw)
    entries = [_entry(*s) for s in TRAIN]
    entries[3]['template'] = 'Pushing [something] from right to left'
    bad = _write_json(tmp_path / 'train.json', entries)
    with pytest.raises(AnnotationError) as e:
        parse_ssv2_split(bad, load_ssv2_labels(labels_json, 4))
    assert str(e.value).startswith(f"{bad}: entry 3 (id '3'): template "
                                   "'Pushing [something] from right to left'")
    assert 'not a class of the labels JSON' in str(e.value)


def test_malformed_entry_names_file_and_index(raw, tmp_path):
    _, _, labels_json = _files(raw)
    class_to_idx = load_ssv2_labels(labels_json, 4)
    entries = [_entry(*s) for s in TRAIN]
    del entries[2]['id']
    bad = _write_json(tmp_path / 'no_id.json', entries)
    with pytest.raises(AnnotationError, match=rf'^{bad}: entry 2: expected'):
        parse_ssv2_split(bad, class_to_idx)
    entries = [_entry(*s) for s in TRAIN]
    entries[4]['template'] = None
    bad = _write_json(tmp_path / 'no_template.json', entries)
    with pytest.raises(
            AnnotationError,
            match=rf"^{bad}: entry 4 \(id '5551'\): expected a \"template\""):
        parse_ssv2_split(bad, class_to_idx)
    bad = tmp_path / 'broken.json'
    bad.write_text('[\n  {"id": "1",\n  "template": }\n]\n')
    with pytest.raises(AnnotationError, match=rf'^{bad}:3:15: not valid JSON'):
        parse_ssv2_split(str(bad), class_to_idx)


def test_labels_json_checks(tmp_path):
    with pytest.raises(
            AnnotationError, match=r'has 4 classes, expected num_classes=174'):
        load_ssv2_labels(_write_json(tmp_path / 'a.json', LABELS))
    out_of_range = dict(LABELS, **{'Putting something on a surface': '4'})
    with pytest.raises(
            AnnotationError,
            match=r"entry 2 \('Putting something on a surface'\): index 4 "
            r'is out of range 0..3'):
        load_ssv2_labels(_write_json(tmp_path / 'b.json', out_of_range), 4)
    repeated = dict(LABELS, **{'Putting something on a surface': '2'})
    with pytest.raises(
            AnnotationError,
            match=r"index 2 is also the index of 'Pushing something from"):
        load_ssv2_labels(_write_json(tmp_path / 'c.json', repeated), 4)
    not_int = dict(LABELS, **{'Putting something on a surface': 'three'})
    with pytest.raises(AnnotationError, match=r"index 'three' is not"):
        load_ssv2_labels(_write_json(tmp_path / 'd.json', not_int), 4)


def test_missing_video_names_path_and_entry(raw, tmp_path):
    train_json, val_json, labels_json = _files(raw)
    videos = tmp_path / 'videos'
    videos.mkdir()
    for video_id, _ in TRAIN + VAL:
        if video_id != '7':
            (videos / f'{video_id}.webm').symlink_to(raw / 'videos' /
                                                     f'{video_id}.webm')
    out = tmp_path / 'out'
    with pytest.raises(FileNotFoundError) as e:
        build_ssv2_file_lists(
            train_json,
            val_json,
            labels_json,
            str(out),
            video_dir=str(videos),
            num_classes=4)
    assert str(e.value) == (
        f'1 of 8 videos are missing under {videos}; the first is '
        f"{videos}/7.webm, listed at {val_json}: entry 1 (id '7')")
    assert not out.exists(), 'nothing is written when a check fails'


def test_cli_reports_errors_and_writes_nothing(raw, tmp_path):
    main = _load_main()
    out = tmp_path / 'out'
    # The real default, 174 classes, against the 4-class fixture.
    with pytest.raises(SystemExit) as e:
        main([str(raw / 'annotations'), str(out)])
    _, _, labels_json = _files(raw)
    assert e.value.code == (f'error: {labels_json}: has 4 classes, expected '
                            'num_classes=174')
    with pytest.raises(SystemExit) as e:
        main([
            str(raw / 'annotations'),
            str(out), '--num-classes', '4', '--check-videos'
        ])
    assert e.value.code == f'error: Video folder not found: {out}/videos'
    assert not out.exists()
    # A duplicate id across train and val would leak val into train.
    leaked = tmp_path / 'leak'
    leaked.mkdir()
    _write_json(leaked / 'something-something-v2-labels.json', LABELS)
    _write_json(leaked / 'something-something-v2-train.json',
                [_entry(*s) for s in TRAIN])
    _write_json(leaked / 'something-something-v2-validation.json',
                [_entry('42326', 2)])
    with pytest.raises(SystemExit) as e:
        main([str(leaked), str(out), '--num-classes', '4'])
    assert "entry 0 (id '42326'): video '42326.webm' is listed twice; " \
        'first at ' in e.value.code


@pytest.mark.parametrize('ci', [None, 'true'])
def test_check_videos_shows_progress_on_a_terminal(raw, tmp_path, monkeypatch,
                                                   ci):
    import sys

    from mmadaptformer.testing.terminal import pseudo_terminal
    if ci is None:
        monkeypatch.delenv('CI', raising=False)
    else:
        monkeypatch.setenv('CI', ci)
    num = len(TRAIN) + len(VAL)
    with pseudo_terminal() as (tty, read):
        monkeypatch.setattr(sys, 'stderr', tty)
        _load_main()([
            str(raw / 'annotations'),
            str(tmp_path / 'out'), '--check-videos', '--video-dir',
            str(raw / 'videos'), '--num-classes', '4'
        ])
        out = read()
    if ci:
        assert out == ''
    else:
        assert f'Checking that {num} videos exist under {raw / "videos"}' \
            in out
        assert f'{num}/{num}' in out and 'ETA' in out


def test_ext_without_a_dot_gets_one(capsys, tmp_path):
    parse = load_tool(TOOL).parse_args
    # ANN_DIR must be there (a missing one is a usage error of its own).
    ann = str(tmp_path)
    assert parse([ann, 'out', '--ext', 'mp4']).ext == '.mp4'
    assert parse([ann, 'out', '--ext', '.mp4']).ext == '.mp4'
    assert parse([ann, 'out']).ext == '.webm'
    for bad in ('', '.', 'a/b'):
        with pytest.raises(SystemExit) as exit:
            parse([ann, 'out', '--ext', bad])
        assert exit.value.code == 2
        assert 'is not a file extension' in capsys.readouterr().err


def test_empty_split_and_number_ids_are_refused(raw, tmp_path):
    """``[]`` wrote an empty train list; an integer id was taken as its
    string, although the owners' ids are strings."""
    train_json, val_json, labels_json = _files(raw)
    empty = _write_json(tmp_path / 'empty.json', [])
    numbers = [_entry(*s) for s in TRAIN]
    numbers[1]['id'] = 42326
    numbers = _write_json(tmp_path / 'numbers.json', numbers)
    out = tmp_path / 'out'
    for bad, message in (
        (empty, f'{empty}: is an empty list; expected an entry per video'),
        (numbers, f'{numbers}: entry 1: "id" is the number 42326, expected '
         'a string, such as "42326" in the owners\' files'),
    ):
        with pytest.raises(AnnotationError) as e:
            build_ssv2_file_lists(
                bad, val_json, labels_json, str(out), num_classes=4)
        assert str(e.value).startswith(message), str(e.value)
    with pytest.raises(AnnotationError, match=rf'^{empty}: is an empty list'):
        build_ssv2_file_lists(
            train_json, empty, labels_json, str(out), num_classes=4)
    assert not out.exists()


@pytest.fixture(scope='module')
def red(raw, tmp_path_factory):
    """A working directory in the README's layout, ``data/sthv2``: the
    recipes' 174 classes (the first the real one of label 0, the others
    made up), a training video and a pure red validation video of label 0,
    listed by the real tool with the README's command. (After ``raw``:
    OpenCV's VP9 writer fails in a process that imported decord before it
    first wrote a video.)"""
    cwd = tmp_path_factory.mktemp('ssv2_cwd')
    root = cwd / 'data' / 'sthv2'
    (root / 'annotations').mkdir(parents=True)
    _write_json(
        root / 'annotations' / 'something-something-v2-labels.json',
        {name: str(i)
         for i, name in reversed(list(enumerate(RED_CLASSES)))})
    for split, video_id in (('train', '1'), ('validation', '2')):
        _write_json(
            root / 'annotations' / f'something-something-v2-{split}.json',
            [_entry(video_id, 0)])
    frames = np.zeros((FRAMES, 64, 64, 3), np.uint8)
    frames[..., 0] = 255  # write_video takes RGB
    for video_id in ('1', '2'):
        write_video(str(root / 'videos' / f'{video_id}.webm'), frames)
    run_tool([TOOL, 'data/sthv2/annotations', 'data/sthv2', '--check-videos'],
             cwd=cwd)
    return cwd


@pytest.mark.parametrize('config', RECIPES)
def test_recipes_feed_the_backbone_rgb(config, red, monkeypatch):
    """decord decodes RGB and the data preprocessor has no ``to_rgb``: the
    backbone gets red in channel 0, through the recipe's 12-view test
    pipeline."""
    monkeypatch.chdir(red)
    means, info = recipe_channel_means(config)
    assert info['filename'].endswith('data/sthv2/videos/2.webm')
    # VP9 gives red within a few levels (0.1 is 6 levels); a swap of
    # channels is off by about 4.
    np.testing.assert_allclose(means, RED_NORMALISED, atol=0.1)


@pytest.mark.parametrize('config', RECIPES)
def test_recipes_name_the_classes_in_label_order(config, red, monkeypatch):
    """The recipes' datasets read the label map the tool wrote, so the
    checkpoints MMEngine saves (``meta['dataset_meta']``) name the
    classes; a label map without it is refused by file, with what writes
    it."""
    from mmaction.registry import DATASETS
    monkeypatch.chdir(red)
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    init_default_scope('mmaction')
    for loader in ('train', 'val', 'test'):
        dataset = DATASETS.build(cfg[f'{loader}_dataloader'].dataset)
        assert dataset.metainfo['classes'] == RED_CLASSES, loader
    label_map = red / 'data' / 'sthv2' / 'sthv2_label_map.txt'
    moved = label_map.with_suffix('.moved')
    label_map.rename(moved)
    try:
        with pytest.raises(
                FileNotFoundError,
                match=r'label map data/sthv2/sthv2_label_map.txt not found .*'
                r'tools/data/<dataset>/build_file_list.py writes it'):
            DATASETS.build(cfg.test_dataloader.dataset)
    finally:
        moved.rename(label_map)
