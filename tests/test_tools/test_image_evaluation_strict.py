# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An image evaluation set that would swap broken images for other samples
is refused on every path, as a video one is.

``CheckedImageDataset`` with ``test_mode=False`` (mmpretrain's dataset
configs leave it unset) replaces a broken image by another sample. Only
``DataHealthHook`` refuses such a validation or test set, and the image
configs (``configs/_base_/default_runtime_image.py``: the tiny image
configs, the CIFAR-100 and SVHN recipes) had none: ``tools/test.py`` on a
test set with one truncated JPEG exited 0 with an accuracy over the wrong
images and only a WARNING. The hook is now one of the recipes' hooks
(``configs/_base_/default_hooks.py``), and the tools add it to a config
without one, as they add ``ResumeCheckHook``."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
from helpers import (CONFIGS, TINY_IMAGE_CONFIG, config_runner, image_data_cfg,
                     run_tool, save_as_built_checkpoint, write_config)
from mmengine.config import Config
from refusal_lines import refused_line

from mmadaptformer.testing import make_stripes_dataset
from mmadaptformer.utils import ConfigError

REFUSED = ('ConfigError: DataHealthHook: test_dataloader.dataset is a '
           'CheckedImageDataset with test_mode=False, which replaces a '
           'broken image by another sample')
# The image configs a user runs: the tiny ones and every image recipe.
IMAGE_CONFIGS = sorted(
    glob.glob(osp.join(CONFIGS, 'tiny', '*image*.py')) + [
        p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
        if any(task in p for task in
               ('cifar100', 'svhn', 'food101')) and '_base_' not in p
    ])


def _one_truncated_jpeg(root: str) -> str:
    """The tiny stripes dataset with a truncated JPEG among the
    validation (and test) images; returns its path."""
    make_stripes_dataset(root, num_per_class=4)
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)
    ok, data = cv2.imencode('.jpg', image)
    assert ok
    path = osp.join(root, 'val', 'horizontal', 'trunc.jpg')
    with open(path, 'wb') as f:
        f.write(data.tobytes()[:len(data) // 2])
    return path


def _test_run(tmp_path, config: str):
    """tools/test.py on ``config`` with its test set a
    ``CheckedImageDataset``, test_mode unset, as a user writes it on the
    command line."""
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'model.pth')
    return run_tool([
        'test.py', config, checkpoint, '--work-dir', tmp_path / 'work',
        '--cfg-options', 'test_dataloader.dataset.type=CheckedImageDataset'
    ],
                    cwd=tmp_path,
                    check=False)


def test_tiny_image_test_set_that_swaps_images_is_refused(tmp_path):
    """Before: exit status 0, ``accuracy/top1: 22.2222`` over 9 images of
    which one stood in for ``trunc.jpg``, and only a WARNING."""
    _one_truncated_jpeg(str(tmp_path / 'data'))
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(str(tmp_path / 'data')))
    line = refused_line(
        _test_run(tmp_path, config),
        absent=['accuracy/top1', 'skipping broken image'])
    assert line.startswith(REFUSED), line
    assert 'Set test_dataloader.dataset.test_mode=True' in line, line


def test_tools_refuse_it_without_the_hook_in_the_config(tmp_path):
    """A config that does not inherit the recipes' runtime (here the tiny
    one without ``data_health``, as one inheriting mmpretrain's runtime
    is): ``tools/test.py`` adds the hook. Before: exit status 0 and an
    accuracy."""
    _one_truncated_jpeg(str(tmp_path / 'data'))
    cfg = Config.fromfile(
        write_config(tmp_path / 'base.py', TINY_IMAGE_CONFIG,
                     image_data_cfg(str(tmp_path / 'data'))))
    cfg.default_hooks.pop('data_health', None)
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    assert 'data_health' not in Config.fromfile(config).default_hooks
    line = refused_line(_test_run(tmp_path, config), absent=['accuracy/top1'])
    assert line.startswith(REFUSED), line


def test_runner_refuses_a_lenient_validation_set_before_training(
        tmp_path, clean_loggers):
    """``Runner.from_cfg`` of the tiny image config, whose validation set
    is a ``CheckedImageDataset`` without ``test_mode``: refused before the
    first iteration. Before: it trained, and validation scored another
    image in place of the truncated one."""
    root = str(tmp_path / 'data')
    _one_truncated_jpeg(root)
    runner = config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        image_data_cfg(root) + 'val_dataloader = dict(dataset=dict('
        f"type='CheckedImageDataset', data_root={root!r}))\n")
    with pytest.raises(
            ConfigError,
            match=r'^DataHealthHook: val_dataloader\.dataset is a '
            r'CheckedImageDataset with test_mode=False'):
        runner.train()
    assert not list((tmp_path / 'work').glob('epoch_*.pth'))


@pytest.mark.parametrize(
    'path', IMAGE_CONFIGS, ids=lambda p: osp.relpath(p, CONFIGS))
def test_image_configs_run_the_data_health_hook(path):
    """Every image config, whether its datasets skip broken images or
    not (CIFAR-100, SVHN): the evaluation sets a user points at a
    ``CheckedImageDataset`` are checked."""
    assert Config.fromfile(path).default_hooks.data_health == dict(
        type='DataHealthHook')
