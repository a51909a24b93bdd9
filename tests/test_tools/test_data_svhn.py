# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/data/svhn/convert_svhn.py, mmadaptformer.datasets.svhn and the
SVHN recipes' data settings.

The fixture is a tiny ``train_32x32.mat`` / ``test_32x32.mat`` pair in the
owners' layout: ``X`` ``(32, 32, 3, N)`` uint8 and ``y`` ``(N, 1)`` with 10
for the digit 0.
"""
import os.path as osp

import numpy as np
import pytest
from helpers import (CONFIGS, RED_NORMALISED, recipe_channel_means,
                     recipe_run_dataset_meta, run_tool)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from scipy.io import savemat

from mmadaptformer.datasets import AnnotationError
from mmadaptformer.datasets.svhn import (SVHN_CLASSES, convert_svhn,
                                         load_svhn_mat, stale_entries)

TOOL = 'data/svhn/convert_svhn.py'
Y = {'train': [10, 1, 5, 10, 9, 3, 2], 'test': [7, 10, 4, 8, 6]}
RECIPES = [
    'adaptformer_vitb_svhn.py', 'baselines/full-finetune_vitb_svhn.py',
    'baselines/linear-probe_vitb_svhn.py', 'baselines/vpt-deep_vitb_svhn.py'
]


def _images(split):
    rng = np.random.default_rng(len(Y[split]))
    return rng.integers(0, 256, (32, 32, 3, len(Y[split])), dtype=np.uint8)


@pytest.fixture(scope='module')
def mat_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('svhn_raw')
    for split, y in Y.items():
        savemat(
            str(root / f'{split}_32x32.mat'), {
                'X': _images(split),
                'y': np.array(y, np.uint8)[:, None]
            })
    return root


def test_cli_pngs_load_with_mmpretrain_as_the_mat_pixels(mat_dir, tmp_path):
    out = tmp_path / 'svhn'
    proc = run_tool([TOOL, mat_dir, out], cwd=tmp_path)
    assert 'train        7 images,    6 classes' in proc.stdout
    assert 'test         5 images,    5 classes' in proc.stdout

    from mmpretrain.registry import DATASETS
    init_default_scope('mmpretrain')
    for split, y in Y.items():
        digits = [label % 10 for label in y]
        assert (out / 'meta' / f'{split}.txt').read_text() == ''.join(
            f'{d}/{i:06d}.png {d}\n' for i, d in enumerate(digits))
        dataset = DATASETS.build(
            dict(
                type='CustomDataset',
                data_root=str(out),
                ann_file=f'meta/{split}.txt',
                data_prefix=split,
                pipeline=[dict(type='LoadImageFromFile')]))
        assert len(dataset) == len(y)
        images = _images(split)
        for i, item in enumerate(dataset):
            assert item['gt_label'] == digits[i]
            # LoadImageFromFile gives BGR; PNG is lossless.
            np.testing.assert_array_equal(item['img'][..., ::-1], images[...,
                                                                         i])


def test_label_10_is_digit_0(mat_dir):
    images, labels = load_svhn_mat(str(mat_dir / 'train_32x32.mat'))
    assert images.shape == (7, 32, 32, 3)
    assert labels.tolist() == [0, 1, 5, 0, 9, 3, 2]
    np.testing.assert_array_equal(images[4], _images('train')[..., 4])


@pytest.mark.parametrize('mat, message', [
    ({
        'X': np.zeros((32, 32, 3, 3), np.uint8),
        'y': [[1], [0], [11]]
    }, r'y\[1\] is 0, expected 1..10 \(10 is the digit 0\); 2 such labels'),
    ({
        'X': np.zeros((32, 32, 3, 3), np.uint8),
        'y': [[1], [2]]
    }, r'y has shape \(2, 1\) .* for the 3 images of X'),
    ({
        'X': np.zeros((3, 32, 32, 3), np.uint8),
        'y': [[1], [2], [3]]
    }, r'X has shape \(3, 32, 32, 3\) and dtype uint8, expected '
     r'\(32, 32, 3, N\) uint8'),
    ({
        'y': [[1]]
    }, r"has no variable 'X'"),
])
def test_malformed_mat_names_file_and_index(tmp_path, mat, message):
    path = tmp_path / 'train_32x32.mat'
    savemat(str(path), mat)
    with pytest.raises(AnnotationError, match=rf'^{path}: {message}'):
        convert_svhn(str(tmp_path), str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists()


def test_missing_mat_file(mat_dir, tmp_path):
    with pytest.raises(
            FileNotFoundError,
            match=rf'^SVHN .mat file not found: {mat_dir}/extra_32x32.mat$'):
        convert_svhn(str(mat_dir), str(tmp_path), splits=('test', 'extra'))
    assert not list(tmp_path.iterdir()), 'test was read, not written'


@pytest.mark.parametrize('content', [b'hi\n', b''])
def test_unreadable_mat_names_the_file(tmp_path, content):
    """A truncated or foreign file: scipy's MatReadError is not a
    ValueError, and came out as a bare traceback."""
    path = tmp_path / 'test_32x32.mat'
    path.write_bytes(content)
    with pytest.raises(
            AnnotationError,
            match=rf'^{path}: scipy.io.loadmat cannot read it'):
        load_svhn_mat(str(path))


def test_rerun_refuses_stale_images_unless_overwrite(mat_dir, tmp_path):
    """A smaller re-run into the same OUT_DIR left the earlier images in
    the class folders, which CustomDataset without ann_file loads."""
    from helpers import load_tool
    from mmpretrain.registry import DATASETS
    main = load_tool(TOOL).main
    out = tmp_path / 'svhn'
    convert_svhn(str(mat_dir), str(out))
    convert_svhn(str(mat_dir), str(out))  # the same files: no complaint
    small = tmp_path / 'small'
    small.mkdir()
    savemat(
        str(small / 'train_32x32.mat'), {
            'X': _images('train')[..., :3],
            'y': np.array(Y['train'][:3], np.uint8)[:, None]
        })
    before = sorted(p.relative_to(out) for p in out.rglob('*'))
    meta = (out / 'meta' / 'train.txt').read_text()
    with pytest.raises(SystemExit) as e:
        main([str(small), str(out), '--splits', 'train'])
    # Images 3..6 of the first run: 0/000003, 9/000004, 3/000005, 2/000006.
    assert e.value.code == (
        f'error: {out}/train holds 4 files or folders this conversion would '
        'not write (e.g. 0/000003.png), maybe of an earlier run; '
        'CustomDataset without ann_file would load them as samples. Pass '
        '--overwrite (overwrite=True) to delete them, or delete the folder.')
    assert sorted(p.relative_to(out) for p in out.rglob('*')) == before
    assert (out / 'meta' / 'train.txt').read_text() == meta

    main([str(small), str(out), '--splits', 'train', '--overwrite'])
    pngs = sorted((out / 'train').rglob('*.png'))
    assert [str(p.relative_to(out / 'train'))
            for p in pngs] == ['0/000000.png', '1/000001.png', '5/000002.png']
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(
        dict(type='CustomDataset', data_prefix=str(out / 'train')))
    assert [dataset.get_data_info(i)['gt_label']
            for i in range(3)] == [0, 1, 5]
    assert len(dataset) == 3
    assert len(list((out / 'test').rglob('*.png'))) == len(Y['test'])


def test_stale_entries_are_other_files_links_and_class_folders(tmp_path):
    folder = tmp_path / 'train'
    (folder / '0').mkdir(parents=True)
    (folder / '0' / '000000.png').write_bytes(b'')
    (folder / '0' / 'old').mkdir()  # nested: not a class, not reported
    (folder / '0' / 'old' / '000007.png').write_bytes(b'')
    (folder / 'cats').mkdir()  # empty, yet a class to CustomDataset
    (folder / '7').symlink_to(tmp_path)
    assert stale_entries(str(folder), {'0/000000.png'},
                         SVHN_CLASSES) == ['0/old/000007.png', '7', 'cats']
    assert stale_entries(str(tmp_path / 'none'), set(), SVHN_CLASSES) == []


@pytest.fixture(scope='module')
def documented(tmp_path_factory):
    """A working directory in the README's layout: the owners' ``.mat``
    files in ``data/svhn/raw``, converted by the README's command to
    ``data/svhn``. Test image 0 is pure red in the ``.mat`` (RGB)."""
    cwd = tmp_path_factory.mktemp('svhn_cwd')
    raw = cwd / 'data' / 'svhn' / 'raw'
    raw.mkdir(parents=True)
    for split, y in Y.items():
        images = _images(split)
        if split == 'test':
            images[..., 0] = 0
            images[:, :, 0, 0] = 255
        savemat(
            str(raw / f'{split}_32x32.mat'), {
                'X': images,
                'y': np.array(y, np.uint8)[:, None]
            })
    run_tool([TOOL, 'data/svhn/raw', 'data/svhn'], cwd=cwd)
    return cwd


@pytest.mark.parametrize('config', RECIPES)
def test_recipes_name_the_classes_in_label_order(config, documented,
                                                 monkeypatch):
    """Every split of every recipe names its classes (the digits) in label
    order, so the checkpoints (``meta['dataset_meta']``) and tools/infer.py
    name them; each sample's label names its own class."""
    from mmpretrain.registry import DATASETS
    monkeypatch.chdir(documented)
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    init_default_scope('mmpretrain')
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'test'), ('test_dataloader',
                                                       'test')):
        dataset = DATASETS.build(cfg[loader].dataset)
        assert dataset.metainfo['classes'] == SVHN_CLASSES, loader
        # The name of each sample's label is its digit; the owners' 10 is 0.
        assert [
            dataset.metainfo['classes'][dataset.get_data_info(i)['gt_label']]
            for i in range(len(dataset))
        ] == [str(y % 10) for y in Y[split]], loader


def test_checkpoint_of_a_recipe_run_names_the_classes(documented, tmp_path,
                                                      monkeypatch,
                                                      clean_loggers):
    """One epoch of a real Runner on the recipe's training set: MMEngine
    saves the set's metainfo."""
    monkeypatch.chdir(documented)
    meta = recipe_run_dataset_meta(
        'adaptformer_vitb_svhn.py',
        str(tmp_path / 'work'),
        len(SVHN_CLASSES),
        batch_size=len(Y['train']))
    assert meta['classes'] == SVHN_CLASSES


@pytest.mark.parametrize('config', RECIPES)
def test_recipes_feed_the_backbone_rgb(config, documented, monkeypatch):
    """The tool writes the ``.mat``'s RGB as PNG (OpenCV takes BGR), which
    LoadImageFromFile reads as BGR; the data preprocessor's ``to_rgb=True``
    must give the backbone RGB, red in channel 0."""
    monkeypatch.chdir(documented)
    means, info = recipe_channel_means(config)
    assert info['img_path'].endswith('000000.png')
    # PNG is lossless; bicubic resizing of a flat image keeps it (within
    # rounding). A swap of channels is off by about 4.
    np.testing.assert_allclose(means, RED_NORMALISED, atol=1e-3)
