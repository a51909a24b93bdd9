# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A real tiny image training run over broken images skips them, counts
them per epoch and finishes."""
import glob
import re

import pytest
from broken_images import BROKEN_IMAGES, stripes_with_broken_images
from helpers import TINY_IMAGE_CONFIG, TRAIN_ONLY_CFG, config_runner
from mmengine.runner import Runner

from mmadaptformer.engine import DataHealthHook


@pytest.mark.parametrize('num_workers', [0, 2])
def test_runner_skips_and_counts_broken_images(tmp_path, clean_loggers,
                                               num_workers):
    root = str(tmp_path / 'data')
    broken = stripes_with_broken_images(root)['train']
    body = (f'train_dataloader = dict(num_workers={num_workers}, '
            "dataset=dict(type='CheckedImageDataset', "
            f"data_root={root!r}, data_prefix='train'))\n"
            'train_cfg = dict(max_epochs=1)\n'
            "custom_hooks = [dict(type='DataHealthHook')]\n"
            'randomness = dict(seed=0)\n') + TRAIN_ONLY_CFG
    runner = config_runner(tmp_path, TINY_IMAGE_CONFIG, body)
    runner.train()
    # 8 good and 4 broken images, 4 a batch: the epoch ran to its end.
    assert runner.iter == 3
    log = open(glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]).read()
    lines = re.findall(r'epoch 1: skipped (\d+) broken images? \((.*)\)', log)
    assert len(lines) == 1, log
    count, names = int(lines[0][0]), lines[0][1]
    # Each broken image once from the sampler, more if drawn again.
    assert count >= len(BROKEN_IMAGES)
    for path in broken.values():
        assert path in names
    assert runner.message_hub.get_scalar(
        'train/skipped_images').current() == count
    assert 'broken video' not in log
    if num_workers == 0:
        warned = re.findall(r'skipping broken image (\S+): ', log)
        assert sorted(set(warned)) == sorted(broken.values())


def _batch(**metainfo):
    from mmpretrain.structures import DataSample
    sample = DataSample()
    sample.set_metainfo(metainfo)
    return dict(inputs=[], data_samples=[sample])


def test_hook_names_images_in_an_image_run(clean_loggers, log_records):
    from mmengine.logging import MessageHub

    class FakeRunner:
        epoch = 0
        message_hub = MessageHub.get_instance('test_data_health_images')

    hook = DataHealthHook()
    hook.before_train_epoch(FakeRunner)
    hook.after_train_iter(FakeRunner, 0, _batch(skipped_images=['a.png']))
    hook.after_train_iter(FakeRunner, 1, _batch(skipped_images=[]))
    assert FakeRunner.message_hub.get_scalar(
        'train/skipped_images').current() == 1
    hook.after_train_epoch(FakeRunner)
    FakeRunner.epoch = 1
    hook.before_train_epoch(FakeRunner)
    assert FakeRunner.message_hub.get_scalar(
        'train/skipped_images').current() == 0
    hook.after_train_iter(FakeRunner, 0, _batch(skipped_images=[]))
    hook.after_train_epoch(FakeRunner)
    messages = [
        r.getMessage() for r in log_records if 'skipped' in r.getMessage()
    ]
    assert messages == [
        'epoch 1: skipped 1 broken image (a.png)',
        'epoch 2: skipped 0 broken images',
    ]


def _image_runner(tmp_path, root: str, val_test_mode: bool) -> Runner:
    """The tiny image config on ``root`` with CheckedImageDataset for
    training and evaluation (``test_mode=val_test_mode``)."""
    dataset = f"type='CheckedImageDataset', data_root={root!r}"
    body = (f'train_dataloader = dict(dataset=dict({dataset}, '
            "data_prefix='train'))\n"
            f'val_dataloader = dict(dataset=dict({dataset}, '
            f"data_prefix='val', test_mode={val_test_mode}))\n"
            'test_dataloader = val_dataloader\n'
            'train_cfg = dict(max_epochs=1)\n'
            "custom_hooks = [dict(type='DataHealthHook')]\n"
            'default_hooks = dict(checkpoint=dict(interval=10, '
            'save_last=False))\n')
    return config_runner(tmp_path, TINY_IMAGE_CONFIG, body)


def test_lenient_validation_set_is_refused_before_training(
        tmp_path, clean_loggers):
    root = str(tmp_path / 'data')
    stripes_with_broken_images(root)
    runner = _image_runner(tmp_path, root, val_test_mode=False)
    with pytest.raises(ValueError) as err:
        runner.train()
    assert runner.iter == 0
    assert str(err.value).startswith(
        'DataHealthHook: val_dataloader.dataset is a CheckedImageDataset '
        'with test_mode=False')
    assert 'Set val_dataloader.dataset.test_mode=True' in str(err.value)


def test_runner_test_stops_at_a_broken_image_naming_it(tmp_path,
                                                       clean_loggers):
    from mmadaptformer.datasets import BrokenImageError
    root = str(tmp_path / 'data')
    broken = stripes_with_broken_images(root)['val']
    runner = _image_runner(tmp_path, root, val_test_mode=True)
    with pytest.raises(BrokenImageError) as err:
        runner.test()
    message = str(err.value)
    named = [path for path in broken.values() if path in message]
    assert len(named) == 1, message
    assert message.startswith(f'Cannot load {named[0]} for evaluation: ')


@pytest.mark.parametrize('wrapper,key', [
    ("type='RepeatDataset', times=2, dataset=DATASET", 'dataset'),
    ("type='ConcatDataset', datasets=[DATASET, DATASET]", 'datasets.1'),
])
def test_lenient_set_inside_a_dataset_wrapper_is_refused(
        tmp_path, clean_loggers, wrapper, key):
    """A CheckedImageDataset with test_mode=False inside a RepeatDataset
    or a ConcatDataset was tested with its broken images silently swapped
    for other samples."""
    root = str(tmp_path / 'data')
    stripes_with_broken_images(root)
    lenient = (f"dict(type='CheckedImageDataset', data_root={root!r}, "
               "data_prefix='val', test_mode=False, pipeline=test_pipeline)")
    strict = lenient.replace('test_mode=False', 'test_mode=True')
    # The last wrapped dataset is lenient, any other strict.
    head, tail = wrapper.rsplit('DATASET', 1)
    wrapper = head.replace('DATASET', strict) + lenient + tail
    body = ('test_pipeline = {{_base_.test_pipeline}}\n'
            f'test_dataloader = dict(dataset=dict(_delete_=True, {wrapper}))\n'
            "custom_hooks = [dict(type='DataHealthHook')]\n")
    runner = config_runner(tmp_path, TINY_IMAGE_CONFIG, body)
    with pytest.raises(ValueError) as err:
        runner.test()
    assert str(err.value).startswith(
        f'DataHealthHook: test_dataloader.dataset.{key} is a '
        'CheckedImageDataset with test_mode=False'), str(err.value)
    assert f'Set test_dataloader.dataset.{key}.test_mode=True,' in str(
        err.value)


@pytest.mark.parametrize('carried,lines', [
    (dict(skipped_images=['a.png']),
     ['epoch 1: skipped 1 broken image (a.png)']),
    (dict(skipped_images=['a.png'], skipped_videos=[]), [
        'epoch 1: skipped 0 broken videos',
        'epoch 1: skipped 1 broken image (a.png)'
    ]),
    (dict(short_videos=[]), ['epoch 1: skipped 0 broken videos']),
    (dict(), []),
])
def test_a_run_without_a_training_dataset_logs_what_its_samples_carry(
        clean_loggers, log_records, carried, lines):
    """Without a training dataset the epoch's lines follow what the samples
    carried: a guard of kept behaviour, except for samples that carry no
    key, which logged ``skipped 0 broken videos`` (now nothing, as over a
    dataset that skips nothing)."""
    from mmengine.logging import MessageHub

    class FakeRunner:
        epoch = 0
        message_hub = MessageHub.get_instance(
            f'test_data_health_no_dataset_{len(carried)}_{len(lines)}')

    hook = DataHealthHook()
    hook.before_train_epoch(FakeRunner)
    hook.after_train_iter(FakeRunner, 0, _batch(**carried))
    hook.after_train_epoch(FakeRunner)
    assert [
        r.getMessage() for r in log_records if 'skipped' in r.getMessage()
    ] == lines
