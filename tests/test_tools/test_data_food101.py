# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/data/food101/build_file_list.py, mmadaptformer.datasets.food101
and the Food-101 recipes' data settings.

The fixture is a tiny ``food-101`` folder in the owners' layout:
``images/<class>/<id>.jpg`` and ``meta/{classes,train,test}.txt``.
"""
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from helpers import (CONFIGS, RED_NORMALISED, recipe_channel_means,
                     recipe_run_dataset_meta, run_tool)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from mmadaptformer.datasets import AnnotationError
from mmadaptformer.datasets.food101 import (build_food101_file_lists,
                                            load_food101_classes)

TOOL = 'data/food101/build_file_list.py'
RECIPES = [
    'adaptformer_vitb_food101.py', 'baselines/full-finetune_vitb_food101.py',
    'baselines/linear-probe_vitb_food101.py',
    'baselines/vpt-deep_vitb_food101.py'
]
# Not in sorted order: the label is the line index, not the sorted index.
CLASSES = ('ramen', 'apple_pie', 'sushi')
# The ``documented`` fixture's classes.txt: the recipes' 101 classes, the
# last 98 without images.
DOCUMENTED_CLASSES = CLASSES + tuple(f'dish_{i:02d}' for i in range(98))
TRAIN = ['apple_pie/1005649', 'ramen/2001', 'sushi/77', 'ramen/2002']
TEST = ['sushi/78', 'apple_pie/3141']


def _color(image_id):
    rng = np.random.default_rng(int(image_id.split('/')[1]))
    return rng.integers(30, 226, size=3).astype(np.uint8)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('food101') / 'food-101'
    (root / 'meta').mkdir(parents=True)
    (root / 'meta' / 'classes.txt').write_text('\n'.join(CLASSES) + '\n')
    (root / 'meta' / 'train.txt').write_text('\n'.join(TRAIN) + '\n')
    (root / 'meta' / 'test.txt').write_text('\n'.join(TEST) + '\n')
    for image_id in TRAIN + TEST:
        path = root / 'images' / f'{image_id}.jpg'
        path.parent.mkdir(parents=True, exist_ok=True)
        image = np.broadcast_to(_color(image_id)[::-1], (24, 40, 3))
        assert cv2.imwrite(str(path), np.ascontiguousarray(image))
    return root


def _copy(root, tmp_path):
    dst = tmp_path / 'food-101'
    shutil.copytree(root, dst)
    return dst


def test_cli_lists_load_with_mmpretrain(root, tmp_path):
    out = tmp_path / 'annotations'
    proc = run_tool([TOOL, root, out, '--check-images', '--num-classes', '3'],
                    cwd=tmp_path)
    assert 'all images found' in proc.stdout
    assert 'train        4 images,    3 classes' in proc.stdout
    label = {name: i for i, name in enumerate(CLASSES)}
    for split, ids in (('train', TRAIN), ('test', TEST)):
        assert (out / f'{split}.txt').read_text() == ''.join(
            f'{i}.jpg {label[i.split("/")[0]]}\n' for i in ids)

    from mmpretrain.registry import DATASETS
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(
        dict(
            type='CustomDataset',
            data_root=str(root),
            ann_file=str(out / 'train.txt'),
            data_prefix='images',
            classes=str(root / 'meta' / 'classes.txt'),
            pipeline=[dict(type='LoadImageFromFile')]))
    assert dataset.CLASSES == CLASSES
    assert len(dataset) == len(TRAIN)
    for image_id, item in zip(TRAIN, dataset):
        assert item['gt_label'] == label[image_id.split('/')[0]]
        assert item['img'].shape == (24, 40, 3)
        mean = item['img'][..., ::-1].reshape(-1, 3).mean(0)
        assert np.abs(mean - _color(image_id)).max() < 4, (image_id, mean)


@pytest.mark.parametrize('line, message', [
    ('apple_pie/1/2', "expected '<class>/<image id>', got 'apple_pie/1/2'"),
    ('1005649', "expected '<class>/<image id>', got '1005649'"),
    ('apple_pie/', "expected '<class>/<image id>', got 'apple_pie/'"),
    ('apple_pie/.jpg', "expected '<class>/<image id>', got 'apple_pie/.jpg'"),
    ('pizza/123', "class 'pizza' is not in classes.txt"),
])
def test_bad_line_names_file_and_line(root, tmp_path, line, message):
    root = _copy(root, tmp_path)
    split = root / 'meta' / 'test.txt'
    split.write_text('sushi/78\n\n' + line + '\napple_pie/3141\n')
    with pytest.raises(AnnotationError) as e:
        build_food101_file_lists(
            str(root), str(tmp_path / 'out'), num_classes=3)
    assert str(e.value) == f'{split}:3: {message}'
    assert not (tmp_path / 'out').exists()


def test_class_list_checks(root, tmp_path):
    with pytest.raises(
            AnnotationError,
            match=r'classes.txt: has 3 classes, expected num_classes=101$'):
        build_food101_file_lists(str(root), str(tmp_path / 'out'))
    classes = tmp_path / 'classes.txt'
    classes.write_text('ramen\napple_pie\nramen\n')
    with pytest.raises(
            AnnotationError,
            match=rf"^{classes}:3: class 'ramen' is also on line 1$"):
        load_food101_classes(str(classes), 2)
    assert load_food101_classes(str(root / 'meta' / 'classes.txt'), 3) == {
        'ramen': 0,
        'apple_pie': 1,
        'sushi': 2
    }


def test_missing_image_and_meta_file(root, tmp_path):
    root = _copy(root, tmp_path)
    (root / 'images' / 'sushi' / '77.jpg').unlink()
    # Not checked by default.
    build_food101_file_lists(str(root), str(tmp_path / 'out'), num_classes=3)
    with pytest.raises(FileNotFoundError) as e:
        build_food101_file_lists(
            str(root),
            str(tmp_path / 'out2'),
            check_images=True,
            num_classes=3)
    assert str(e.value) == (
        f'1 of 6 images are missing under {root}/images; the first is '
        f'{root}/images/sushi/77.jpg, listed at {root}/meta/train.txt:3')
    (root / 'meta' / 'test.txt').unlink()
    with pytest.raises(
            FileNotFoundError,
            match=rf'^Food-101 split file not found: {root}/meta/test.txt$'):
        build_food101_file_lists(
            str(root), str(tmp_path / 'out2'), num_classes=3)
    assert not (tmp_path / 'out2').exists()


def test_the_owners_meta_folder_is_never_written(root, tmp_path):
    """OUT_DIR = ROOT/meta would replace the owners' train.txt and test.txt
    with our lists, losing the split files."""
    root = _copy(root, tmp_path)
    before = {p.name: p.read_text() for p in (root / 'meta').iterdir()}
    with pytest.raises(
            AnnotationError, match=r"train.txt is one of the owners' files"):
        build_food101_file_lists(str(root), str(root / 'meta'), num_classes=3)
    with pytest.raises(AnnotationError, match='give another OUT_DIR'):
        build_food101_file_lists(
            str(root), str(root / 'images' / '..' / 'meta'), num_classes=3)
    assert {p.name: p.read_text() for p in (root / 'meta').iterdir()} == before


def test_ids_with_the_jpg_suffix_keep_one(root, tmp_path):
    """Meta lines ``<class>/<id>.jpg`` became ``<id>.jpg.jpg``, a file that
    does not exist."""
    root = _copy(root, tmp_path)
    (root / 'meta' / 'train.txt').write_text(''.join(
        f'{i}.jpg\n' if n % 2 else f'{i}\n' for n, i in enumerate(TRAIN)))
    out = tmp_path / 'out'
    build_food101_file_lists(
        str(root), str(out), check_images=True, num_classes=3)
    assert (out / 'train.txt').read_text() == (
        'apple_pie/1005649.jpg 1\nramen/2001.jpg 0\nsushi/77.jpg 2\n'
        'ramen/2002.jpg 0\n')
    # With and without the suffix, it is one image.
    (root / 'meta' / 'test.txt').write_text('sushi/78\nsushi/78.jpg\n')
    with pytest.raises(
            AnnotationError,
            match=r"test.txt:2: image 'sushi/78.jpg' is listed twice; "
            r'first at .*test.txt:1$'):
        build_food101_file_lists(str(root), str(out), num_classes=3)


@pytest.fixture(scope='module')
def documented(root, tmp_path_factory):
    """A working directory in the README's layout: the owners' files in
    ``data/food-101`` and the lists the real tool writes, by the README's
    command, to ``data/food-101/annotations``. The test image
    ``sushi/78`` is pure red, written by PIL from RGB; ``classes.txt``
    names 101 classes (``DOCUMENTED_CLASSES``)."""
    cwd = tmp_path_factory.mktemp('food101_cwd')
    shutil.copytree(root, cwd / 'data' / 'food-101')
    (cwd / 'data' / 'food-101' / 'meta' / 'classes.txt').write_text(''.join(
        f'{name}\n' for name in DOCUMENTED_CLASSES))
    red = cwd / 'data' / 'food-101' / 'images' / 'sushi' / '78.jpg'
    Image.new('RGB', (40, 24), (255, 0, 0)).save(red)
    run_tool(
        [TOOL, 'data/food-101', 'data/food-101/annotations', '--check-images'],
        cwd=cwd)
    return cwd


@pytest.mark.parametrize('config', RECIPES)
def test_recipes_name_the_classes_in_label_order(config, documented,
                                                 monkeypatch):
    """Every split of every recipe names its classes (``meta/classes.txt``)
    in label order, so the checkpoints (``meta['dataset_meta']``) and
    tools/infer.py name them; each sample's label names its own class."""
    from mmpretrain.registry import DATASETS
    monkeypatch.chdir(documented)
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    init_default_scope('mmpretrain')
    for loader, ids in (('train_dataloader', TRAIN), ('val_dataloader', TEST),
                        ('test_dataloader', TEST)):
        dataset = DATASETS.build(cfg[loader].dataset)
        assert dataset.metainfo['classes'] == DOCUMENTED_CLASSES, loader
        # The name of each sample's label is its class folder.
        assert [
            dataset.metainfo['classes'][dataset.get_data_info(i)['gt_label']]
            for i in range(len(dataset))
        ] == [image_id.split('/')[0] for image_id in ids], loader


def test_checkpoint_of_a_recipe_run_names_the_classes(documented, tmp_path,
                                                      monkeypatch,
                                                      clean_loggers):
    """One epoch of a real Runner on the recipe's training set: MMEngine
    saves the set's metainfo."""
    monkeypatch.chdir(documented)
    meta = recipe_run_dataset_meta('adaptformer_vitb_food101.py',
                                   str(tmp_path / 'work'),
                                   len(DOCUMENTED_CLASSES))
    assert meta['classes'] == DOCUMENTED_CLASSES


@pytest.mark.parametrize('config', RECIPES)
def test_recipes_feed_the_backbone_rgb(config, documented, monkeypatch):
    """LoadImageFromFile reads the JPEG as BGR; the data preprocessor's
    ``to_rgb=True`` must give the backbone RGB, red in channel 0."""
    monkeypatch.chdir(documented)
    means, info = recipe_channel_means(config, TEST.index('sushi/78'))
    assert info['img_path'].endswith('sushi/78.jpg')
    # JPEG gives red within a few levels (0.1 is 6 levels); a swap of
    # channels is off by about 4.
    np.testing.assert_allclose(means, RED_NORMALISED, atol=0.1)


def test_class_names_move_with_data_root(documented, tmp_path, monkeypatch):
    """``classes`` is under ``data_root``, as the lists are: the recipe with
    its data elsewhere (``--cfg-options ...data_root=``), run from another
    folder, still names the classes; a missing class file is named with
    where it was looked for. (mmpretrain's CustomDataset opened
    ``data/food-101/meta/classes.txt`` from the working directory.)"""
    from mmpretrain.registry import DATASETS
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(osp.join(CONFIGS, 'adaptformer_vitb_food101.py'))
    init_default_scope('mmpretrain')
    moved = tmp_path / 'elsewhere'
    shutil.copytree(documented / 'data' / 'food-101', moved)
    cfg.merge_from_dict({'test_dataloader.dataset.data_root': str(moved)})
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert dataset.metainfo['classes'] == DOCUMENTED_CLASSES
    assert len(dataset) == len(TEST)
    from mmadaptformer.apis.label_maps import config_class_names
    assert config_class_names(cfg) == list(DOCUMENTED_CLASSES)
    (moved / 'meta' / 'classes.txt').unlink()
    with pytest.raises(
            FileNotFoundError,
            match=rf"^CheckedImageDataset \(data_root='{moved}'\): label map "
            rf'{moved}/meta/classes.txt not found .*it comes with the '
            'dataset; a relative path is taken from data_root'):
        DATASETS.build(cfg.test_dataloader.dataset)
