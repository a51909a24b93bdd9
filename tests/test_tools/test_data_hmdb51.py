# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/data/hmdb51/build_file_list.py, mmadaptformer.datasets.hmdb51
and the HMDB51 recipes' data settings.

The fixture is a tiny copy of the owners' distribution: ``.avi`` videos in
class folders and ``<class>_test_split{1,2,3}.txt`` files whose lines end
with a space, as the official ones do.
"""
import os.path as osp
import shutil

import numpy as np
import pytest
from helpers import (CONFIGS, RED_NORMALISED, load_tool, recipe_channel_means,
                     recipe_run_dataset_meta, run_tool)
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmadaptformer.datasets import AnnotationError
from mmadaptformer.datasets.hmdb51 import (build_hmdb51_file_lists,
                                           parse_hmdb51_split_file)
from mmadaptformer.testing import write_video

TOOL = 'data/hmdb51/build_file_list.py'
# Listed unsorted; 'climb' sorts before 'climb_stairs' ('_' follows nothing).
CLASSES = ('wave', 'brush_hair', 'climb_stairs', 'climb')
LABEL = {'brush_hair': 0, 'climb': 1, 'climb_stairs': 2, 'wave': 3}
# Usage id of video j of every class in splits 1, 2, 3.
USAGE = {1: ('1', '2', '0'), 2: ('2', '1', '1'), 3: ('0', '1', '2')}
FRAMES, HEIGHT, WIDTH = 8, 32, 40
RECIPES = [
    'adaptformer_vitb_hmdb51.py', 'adaptformer_vitb_hmdb51_split2.py',
    'adaptformer_vitb_hmdb51_split3.py',
    'baselines/full-finetune_vitb_hmdb51.py',
    'baselines/linear-probe_vitb_hmdb51.py',
    'baselines/vpt-deep_vitb_hmdb51.py'
]
# The classes of the ``red`` fixture: 'wave' (label 50) and 50 unused ones.
RED_CLASSES = ('wave', ) + tuple(f'class_{i:02d}' for i in range(50))


def _video(name, j):
    return f'{name}_f_cm_np1_ba_med_{j}.avi'


def _color(name, j):
    rng = np.random.default_rng(len(name) * 10 + j)
    return rng.integers(40, 216, size=3).astype(np.uint8)


def _expected(split, usage):
    """``<class>/<video>.avi <label>`` lines in class-label order."""
    return ''.join(f'{name}/{_video(name, j)} {LABEL[name]}\n'
                   for name in sorted(CLASSES) for j in range(3)
                   if USAGE[split][j] == usage)


@pytest.fixture(scope='module')
def raw(tmp_path_factory):
    """``root/videos/<class>/<video>.avi`` and
    ``root/testTrainMulti_7030_splits/<class>_test_split<k>.txt``."""
    root = tmp_path_factory.mktemp('hmdb51')
    splits = root / 'testTrainMulti_7030_splits'
    splits.mkdir()
    for name in CLASSES:
        for split, usage in USAGE.items():
            (splits / f'{name}_test_split{split}.txt').write_text(''.join(
                f'{_video(name, j)} {usage[j]} \n' for j in range(3)))
        for j in range(3):
            frames = np.broadcast_to(
                _color(name, j), (FRAMES, HEIGHT, WIDTH, 3)).copy()
            write_video(str(root / 'videos' / name / _video(name, j)), frames)
    return root


def _copy_splits(raw, tmp_path):
    dst = tmp_path / 'splits'
    shutil.copytree(raw / 'testTrainMulti_7030_splits', dst)
    return dst


def test_cli_lists_decode_with_mmaction(raw, tmp_path):
    out = tmp_path / 'hmdb51'
    proc = run_tool([
        TOOL, raw / 'testTrainMulti_7030_splits', out, '--check-videos',
        '--video-dir', raw / 'videos', '--num-classes', '4'
    ],
                    cwd=tmp_path)
    assert 'all videos found' in proc.stdout
    assert 'train_split_1        4 videos,    4 classes' in proc.stdout
    assert 'val_split_2          4 videos,    4 classes' in proc.stdout
    for split in (1, 2, 3):
        for half, usage in (('train', '1'), ('val', '2')):
            text = (out /
                    f'hmdb51_{half}_split_{split}_videos.txt').read_text()
            assert text == _expected(split, usage), (split, half)
    assert (out / 'hmdb51_label_map.txt').read_text().split() == [
        'brush_hair', 'climb', 'climb_stairs', 'wave'
    ]

    from mmaction.registry import DATASETS
    init_default_scope('mmaction')
    for half, usage in (('train', '1'), ('val', '2')):
        dataset = DATASETS.build(
            dict(
                type='VideoDataset',
                ann_file=str(out / f'hmdb51_{half}_split_1_videos.txt'),
                data_prefix=dict(video=str(raw / 'videos')),
                pipeline=[
                    dict(type='DecordInit'),
                    dict(
                        type='SampleFrames',
                        clip_len=4,
                        frame_interval=2,
                        num_clips=1,
                        test_mode=True),
                    dict(type='DecordDecode')
                ],
                test_mode=True))
        expected = [(name, j) for name in sorted(CLASSES) for j in range(3)
                    if USAGE[1][j] == usage]
        assert len(dataset) == len(expected) == 4
        for (name, j), item in zip(expected, dataset):
            assert item['label'] == LABEL[name]
            imgs = np.stack(item['imgs'])
            assert imgs.shape == (4, HEIGHT, WIDTH, 3)
            mean = imgs.reshape(-1, 3).mean(0)
            assert np.abs(mean - _color(name, j)).max() < 12, (name, j, mean)


def test_split_ids_and_labels(raw):
    path = str(raw / 'testTrainMulti_7030_splits' /
               'climb_stairs_test_split2.txt')
    train, val = parse_hmdb51_split_file(path, 'climb_stairs', 2)
    assert [s.filename for s in train] == [
        'climb_stairs/' + _video('climb_stairs', 1),
        'climb_stairs/' + _video('climb_stairs', 2)
    ]
    assert [s.filename
            for s in val] == ['climb_stairs/' + _video('climb_stairs', 0)]
    assert {s.label for s in train + val} == {2}
    assert val[0].source == f'{path}:1'


def test_cli_writes_only_the_chosen_split(raw, tmp_path):
    module = load_tool(TOOL)
    out = tmp_path / 'out'
    module.main([
        str(raw / 'testTrainMulti_7030_splits'),
        str(out), '--split', '2', '--num-classes', '4'
    ])
    assert sorted(p.name for p in out.iterdir()) == [
        'hmdb51_label_map.txt', 'hmdb51_train_split_2_videos.txt',
        'hmdb51_val_split_2_videos.txt'
    ]
    with pytest.raises(SystemExit) as e:
        module.main([str(raw / 'testTrainMulti_7030_splits'), str(out)])
    assert e.value.code.startswith(
        f'error: {raw}/testTrainMulti_7030_splits: split files name 4 '
        'classes, expected num_classes=51')


@pytest.mark.parametrize(
    'line',
    ['wave_x.avi 3 ', 'wave_x.avi', 'wave_x.avi 1 extra', 'wave_x.avi one'])
def test_malformed_line_names_file_and_line(raw, tmp_path, line):
    splits = _copy_splits(raw, tmp_path)
    path = splits / 'wave_test_split3.txt'
    path.write_text(path.read_text() + '\n' + line + '\n')
    with pytest.raises(AnnotationError) as e:
        build_hmdb51_file_lists(
            str(splits), str(tmp_path / 'out'), num_classes=4)
    assert str(e.value) == (f"{path}:5: expected '<video>.avi <0|1|2>', got "
                            f'{line.strip()!r}')
    assert not (tmp_path / 'out').exists()


def test_missing_split_file_duplicate_and_missing_video(raw, tmp_path):
    splits = _copy_splits(raw, tmp_path)
    (splits / 'climb_test_split3.txt').unlink()
    # Split 1 alone does not need it.
    build_hmdb51_file_lists(
        str(splits), str(tmp_path / 'out'), splits=(1, ), num_classes=4)
    with pytest.raises(FileNotFoundError) as e:
        build_hmdb51_file_lists(
            str(splits), str(tmp_path / 'out'), num_classes=4)
    assert str(e.value) == ('HMDB51 split file not found: '
                            f'{splits}/climb_test_split3.txt (other splits '
                            'have this class)')

    path = splits / 'wave_test_split1.txt'
    path.write_text(path.read_text() + f'{_video("wave", 0)} 2\n')
    with pytest.raises(
            AnnotationError,
            match=rf"^{path}:4: video 'wave/{_video('wave', 0)}' is listed "
            rf'twice; first at {path}:1$'):
        build_hmdb51_file_lists(
            str(splits), str(tmp_path / 'out'), splits=(1, ), num_classes=4)

    videos = tmp_path / 'videos'
    shutil.copytree(raw / 'videos', videos)
    (videos / 'climb' / _video('climb', 1)).unlink()
    with pytest.raises(FileNotFoundError) as e:
        build_hmdb51_file_lists(
            str(raw / 'testTrainMulti_7030_splits'),
            str(tmp_path / 'out2'),
            video_dir=str(videos),
            num_classes=4)
    assert str(e.value) == (
        f'1 of 12 videos are missing under {videos}; the first is '
        f'{videos}/climb/{_video("climb", 1)}, listed at '
        f'{raw}/testTrainMulti_7030_splits/climb_test_split1.txt:2')
    assert not (tmp_path / 'out2').exists()


@pytest.fixture(scope='module')
def red(tmp_path_factory):
    """A working directory in the README's layout, ``data/hmdb51``: the
    recipes' 51 classes, listed by the real tool with the README's command;
    'wave' has a video 0 that trains and a pure red video 1 that tests in
    every split, the other classes one video each that no split uses."""
    cwd = tmp_path_factory.mktemp('hmdb51_cwd')
    root = cwd / 'data' / 'hmdb51'
    splits = root / 'testTrainMulti_7030_splits'
    splits.mkdir(parents=True)
    lines = f'{_video("wave", 0)} 1 \n{_video("wave", 1)} 2 \n'
    for split in USAGE:
        (splits / f'wave_test_split{split}.txt').write_text(lines)
        for name in RED_CLASSES[1:]:
            (splits / f'{name}_test_split{split}.txt'
             ).write_text(f'{_video(name, 0)} 0 \n')
    frames = np.zeros((FRAMES, HEIGHT, WIDTH, 3), np.uint8)
    frames[..., 0] = 255  # write_video takes RGB
    for j in range(2):
        write_video(str(root / 'videos' / 'wave' / _video('wave', j)), frames)
    run_tool([
        TOOL, 'data/hmdb51/testTrainMulti_7030_splits', 'data/hmdb51',
        '--check-videos'
    ],
             cwd=cwd)
    return cwd


@pytest.mark.parametrize('config', RECIPES)
def test_recipes_feed_the_backbone_rgb(config, red, monkeypatch):
    """decord decodes RGB and the data preprocessor has no ``to_rgb``: the
    backbone gets red in channel 0, through the recipe's 12-view test
    pipeline and its split's list."""
    monkeypatch.chdir(red)
    means, info = recipe_channel_means(config)
    assert info['filename'].endswith(
        f'data/hmdb51/videos/wave/{_video("wave", 1)}')
    # The codec gives red within a few levels (0.1 is 6 levels); a swap of
    # channels is off by about 4.
    np.testing.assert_allclose(means, RED_NORMALISED, atol=0.1)


@pytest.mark.parametrize('config', RECIPES)
def test_recipes_name_the_classes_in_label_order(config, red, monkeypatch):
    """The recipes' datasets read the label map the tool wrote, so the
    checkpoints MMEngine saves (``meta['dataset_meta']``) name the
    classes; a label map of another length is refused by file."""
    from mmaction.registry import DATASETS
    monkeypatch.chdir(red)
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    init_default_scope('mmaction')
    names = tuple(sorted(RED_CLASSES))
    for loader in ('train', 'val', 'test'):
        dataset = DATASETS.build(cfg[f'{loader}_dataloader'].dataset)
        assert dataset.metainfo['classes'] == names, loader
        label = dataset.get_data_info(0)['label']
        assert names[label] == 'wave', loader
    label_map = red / 'data' / 'hmdb51' / 'hmdb51_label_map.txt'
    text = label_map.read_text()
    try:
        label_map.write_text(''.join(f'{n}\n' for n in names[:-1]))
        with pytest.raises(
                ValueError,
                match=r'^data/hmdb51/hmdb51_label_map.txt: 50 class names, '
                r'but num_classes=51'):
            DATASETS.build(cfg.test_dataloader.dataset)
    finally:
        label_map.write_text(text)


def test_checkpoint_of_a_recipe_run_names_the_classes(red, tmp_path,
                                                      monkeypatch,
                                                      clean_loggers):
    """One epoch of a real Runner on the recipe's training set: MMEngine
    saves the set's metainfo, the label map's names, in the checkpoint."""
    monkeypatch.chdir(red)
    meta = recipe_run_dataset_meta('adaptformer_vitb_hmdb51.py',
                                   str(tmp_path / 'work'), len(RED_CLASSES))
    assert meta['classes'] == tuple(sorted(RED_CLASSES))


def test_split_id_0_is_in_neither_list(tmp_path):
    """HMDB51's split files mark each video 1 (train), 2 (test) or 0 (not
    used by this split): a 0 row is in neither list (a reader that took 0
    for test, or kept every row, would not be caught by the official files'
    fixture above, which has no 0 row)."""
    path = tmp_path / 'wave_test_split1.txt'
    path.write_text('a.avi 1 \nb.avi 0 \nc.avi 2 \n')
    train, val = parse_hmdb51_split_file(str(path), 'wave', 3)
    assert [s.filename for s in train] == ['wave/a.avi']
    assert [s.filename for s in val] == ['wave/c.avi']
    assert val[0].source == f'{path}:3'
