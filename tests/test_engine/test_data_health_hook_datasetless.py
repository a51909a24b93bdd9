# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A real tiny image run whose train loop has no training dataset records
only the counters its samples carry: no video counter in an images-only
run."""
import glob
import json

import pytest
from broken_images import stripes_with_broken_images
from helpers import TINY_IMAGE_CONFIG, TRAIN_ONLY_CFG, config_runner
from mmengine.registry import LOOPS
from mmengine.runner import EpochBasedTrainLoop, Runner

from mmadaptformer.testing import make_stripes_dataset

VIDEO_KEYS = ('skipped_videos', 'short_videos')


class DatasetlessLoader:
    """A real dataloader's batches behind a loader with no ``dataset``."""

    dataset = None

    def __init__(self, loader) -> None:
        self._loader = loader
        self.sampler = loader.sampler

    def __iter__(self):
        return iter(self._loader)

    def __len__(self) -> int:
        return len(self._loader)


@LOOPS.register_module(force=True)
class DatasetlessTrainLoop(EpochBasedTrainLoop):
    """MMEngine's epoch loop over its dataloader's batches, with no
    training dataset to be seen: a train loop of a user's own, the one
    way a Runner trains without one (``val()`` and ``test()`` call no
    training hook)."""

    def __init__(self, runner, dataloader, **kwargs) -> None:
        super().__init__(runner, dataloader, **kwargs)
        self.dataloader = DatasetlessLoader(self.dataloader)


def _train(tmp_path, dataset_type: str) -> Runner:
    root = str(tmp_path / 'data')
    if dataset_type == 'CustomDataset':
        make_stripes_dataset(root, num_per_class=4)  # it reads no broken
    else:
        stripes_with_broken_images(root)
    body = ('train_dataloader = dict(dataset=dict('
            f'type={dataset_type!r}, data_root={root!r}))\n'
            "train_cfg = dict(_delete_=True, type='DatasetlessTrainLoop', "
            'max_epochs=1)\n'
            "custom_hooks = [dict(type='DataHealthHook')]\n"
            'randomness = dict(seed=0)\n') + TRAIN_ONLY_CFG
    runner = config_runner(tmp_path, TINY_IMAGE_CONFIG, body)
    runner.train()
    assert runner.train_dataloader.dataset is None
    return runner


@pytest.mark.parametrize('dataset_type,counted,iters', [
    ('CustomDataset', (), 2),
    ('CheckedImageDataset', ('skipped_images', ), 3),
])
def test_run_without_training_dataset_counts_what_its_samples_carry(
        tmp_path, clean_loggers, dataset_type, counted, iters):
    """``before_train_epoch`` wrote ``train/skipped_videos`` and
    ``train/short_videos`` = 0 before any sample was seen, so these
    images-only runs showed video counters on every iteration line and in
    ``scalars.json``; now a counter appears only once a sample carries its
    key (the images', from CheckedImageDataset's samples)."""
    runner = _train(tmp_path, dataset_type)
    # 8 images (and 4 broken ones, swapped for others), 4 a batch.
    assert runner.iter == iters
    log = open(glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]).read()
    path = glob.glob(
        str(tmp_path / 'work' / '*' / 'vis_data' / 'scalars.json'))[0]
    with open(path) as f:
        scalars = [json.loads(line) for line in f]
    assert len(scalars) == iters, scalars
    hub = runner.message_hub.log_scalars
    for key in VIDEO_KEYS + ('skipped_images', ):
        shown = key in counted
        assert (f'train/{key}' in hub) is shown, key
        assert all((key in record) is shown for record in scalars), key
        assert (f'{key}: ' in log) is shown, key
    assert 'broken video' not in log
    if counted:
        total = hub['train/skipped_images'].current()
        assert total >= 4  # each broken image at least once
        assert f'epoch 1: skipped {total} broken images (' in log
    else:
        assert 'broken image' not in log
