# Copyright (c) mmadaptformer contributors. All rights reserved.
"""ImageVisualizationHook: one drawing per test image. MMPretrain's
VisualizationHook named each drawing by the image's file name alone, so
an ImageNet-style test set whose class folders share file names
(``val/cat/0.jpg``, ``val/dog/0.jpg``) kept one drawing of each name."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import ConcatDataset
from mmpretrain.datasets import CustomDataset
from mmpretrain.engine.hooks import VisualizationHook
from mmpretrain.registry import HOOKS
from mmpretrain.structures import DataSample
from mmpretrain.visualization import UniversalVisualizer

from mmadaptformer.engine.hooks import (ImageVisualizationHook, drawing_name,
                                        image_roots)


@pytest.fixture
def class_folders(tmp_path):
    """``val/{cat,dog}/{0,1}.png`` and the mmpretrain dataset of them."""
    for name in ('cat', 'dog'):
        (tmp_path / 'val' / name).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(
                str(tmp_path / 'val' / name / f'{i}.png'),
                np.full((8, 8, 3), 40 * i, np.uint8))
    dataset = CustomDataset(
        data_root=str(tmp_path), data_prefix='val', lazy_init=False)
    return tmp_path, dataset


def _draw(hook, dataset, batch_size=3):
    """Feed ``dataset``'s samples to ``hook`` as a test loop does."""
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    for batch_idx, start in enumerate(range(0, len(paths), batch_size)):
        chunk = paths[start:start + batch_size]
        samples = [
            DataSample(metainfo=dict(
                img_path=path)).set_gt_label(0).set_pred_score(
                    torch.tensor([0.75, 0.25])) for path in chunk
        ]
        batch = dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)] *
                     len(chunk))
        hook.after_test_iter(None, batch_idx, batch, samples)


def _drawn(folder):
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob('*')
        if p.is_file())


def test_each_image_of_class_folders_is_drawn_apart(class_folders):
    root, dataset = class_folders
    UniversalVisualizer.get_instance('test_image_vis_F')
    upstream = VisualizationHook(
        enable=True, interval=1, out_dir=str(root / 'upstream'))
    _draw(upstream, dataset)
    assert _drawn(root / 'upstream') == ['0.png_0.png', '1.png_0.png']

    hook = HOOKS.build(
        dict(
            type='ImageVisualizationHook',
            enable=True,
            interval=1,
            out_dir=str(root / 'ours')))
    assert isinstance(hook, ImageVisualizationHook)
    hook._roots = image_roots(dataset)
    _draw(hook, dataset)
    assert _drawn(root / 'ours') == [
        'cat/0.png_0.png', 'cat/1.png_0.png', 'dog/0.png_0.png',
        'dog/1.png_0.png'
    ]


def test_samples_are_counted_across_a_smaller_last_batch(class_folders):
    """Every third sample of 4 in batches of 3 is samples 0 and 3; the
    parent's ``batch_idx x len(batch)`` took the last batch's one sample
    for sample 1, and drew none of it."""
    root, dataset = class_folders
    UniversalVisualizer.get_instance('test_image_vis_count_F')
    hook = ImageVisualizationHook(
        enable=True, interval=3, out_dir=str(root / 'every_third'))
    hook._roots = image_roots(dataset)
    _draw(hook, dataset, batch_size=3)
    assert _drawn(root /
                  'every_third') == ['cat/0.png_0.png', 'dog/1.png_0.png']


def test_drawing_names_below_the_longest_root(tmp_path):
    outer = CustomDataset(
        data_root=str(tmp_path), data_prefix='', lazy_init=True)
    inner = CustomDataset(
        data_root=str(tmp_path), data_prefix='val', lazy_init=True)
    roots = image_roots(ConcatDataset([outer, inner], lazy_init=True))
    assert roots == (str(tmp_path / 'val'), str(tmp_path))
    assert drawing_name(str(tmp_path / 'val' / 'cat' / '0.jpg'),
                        roots) == 'cat/0.jpg'
    assert drawing_name(str(tmp_path / 'x' / '0.jpg'), roots) == 'x/0.jpg'
    # Outside every root (or no dataset): the file name, as MMPretrain's.
    assert drawing_name('/elsewhere/a/0.jpg', roots) == '0.jpg'
    assert drawing_name('/elsewhere/a/0.jpg') == '0.jpg'
    # A folder whose name only starts like a root's is not below it.
    assert drawing_name(str(tmp_path) + 'x/0.jpg', roots) == '0.jpg'
