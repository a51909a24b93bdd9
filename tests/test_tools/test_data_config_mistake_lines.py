# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Config mistakes in the data that end tools/train.py and tools/test.py
with one line naming the key, the value and what was expected, exit status
1, no traceback, before the Runner makes the work dir: a transform that
cannot be built, an argument SampleFrames would drop, a wrong dataset or
dataloader argument, a missing annotation file or image folder."""
import pytest
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, run_tool,
                     video_data_cfg, write_config)
from refusal_lines import refused_line
from refused_runs import refused_run


@pytest.mark.parametrize('tool, loader', [('train.py', 'train_dataloader'),
                                          ('train.py', 'val_dataloader'),
                                          ('test.py', 'test_dataloader')])
def test_a_transform_that_cannot_be_built_is_one_line(tmp_path,
                                                      tiny_video_data, tool,
                                                      loader):
    """A transform with a wrong argument was a traceback from inside the
    Runner's loop (``TypeError: Resize.__init__() got an unexpected
    keyword argument 'bogus'``, through the dataset and Compose), which
    named neither the file nor the key; it is now named before the Runner
    is built."""
    config = write_config(
        tmp_path / 'bogus.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        f'{loader} = dict(dataset=dict(pipeline=[dict(type="DecordInit"), '
        'dict(type="Resize", scale=(-1, 32), bogus=1)]))\n')
    assert refused_run(tool, config, tmp_path) == (
        f'ConfigError: {config}: {loader}.dataset.pipeline[1] (Resize) '
        'cannot be built: TypeError: Resize.__init__() got an unexpected '
        "keyword argument 'bogus'.")
    assert not (tmp_path / 'w').exists() or not any(
        (tmp_path / 'w').rglob('*.pth'))


@pytest.mark.parametrize('tool, loader', [('train.py', 'val_dataloader'),
                                          ('test.py', 'test_dataloader')])
def test_an_argument_sample_frames_would_drop_is_one_line(
        tmp_path, tiny_video_data, tool, loader):
    """mmaction2's SampleFrames drops an argument it does not know: a
    validation or test pipeline with ``num_clip=2`` ran with one clip per
    video, without a word."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    refused = refused_run(tool, config, tmp_path, '--cfg-options',
                          f'{loader}.dataset.pipeline.1.num_clip=2')
    assert refused.startswith(
        f'ConfigError: --cfg-options {loader}.dataset.pipeline.1.num_clip=2: '
        "SampleFrames takes no argument 'num_clip' (did you mean "
        "'num_clips'?); mmaction2's SampleFrames accepts and drops arguments "
        'it does not know')
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('tool, loader', [('train.py', 'train_dataloader'),
                                          ('train.py', 'val_dataloader'),
                                          ('test.py', 'test_dataloader')])
def test_a_dataset_argument_that_is_wrong_is_one_line(tmp_path,
                                                      tiny_video_data, tool,
                                                      loader):
    """A dataset argument its class does not take, or a value it refuses,
    was a traceback from inside the Runner's loop (``TypeError:
    BaseDataset.__init__() got an unexpected keyword argument 'bogus'``),
    after the work dir was made; it is now named before the Runner is
    built, with the ``--cfg-options`` that set it."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    refused = refused_run(tool, config, tmp_path, '--cfg-options',
                          f'{loader}.dataset.check_files=nope')
    assert refused == (
        f'ConfigError: {config}: {loader}.dataset (CheckedVideoDataset) with '
        f"--cfg-options {loader}.dataset.check_files='nope' cannot be built: "
        "ValueError: CheckedVideoDataset: check_files='nope' is not one of "
        "('sample', 'all', None).")
    assert not (tmp_path / 'w').exists()
    if tool == 'train.py':
        config = write_config(
            tmp_path / 'bogus.py', TINY_VIDEO_CONFIG,
            video_data_cfg(tiny_video_data) +
            f'{loader} = dict(dataset=dict(bogus=1))\n')
        proc = run_tool([tool, config, '--work-dir', tmp_path / 'w'],
                        cwd=tmp_path,
                        check=False)
        assert refused_line(proc).startswith(
            f'ConfigError: {config}: {loader}.dataset.bogus: unknown '
            "argument 'bogus' of CheckedVideoDataset. It takes: ann_file, ")
        assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('tool, option, line', [
    ('train.py', 'train_dataloader.batch_sise=2',
     "--cfg-options train_dataloader.batch_sise=2: 'batch_sise' is no "
     "dataloader argument (did you mean 'batch_size' or 'batch_sampler'?); "
     "PyTorch's DataLoader would refuse it after the Runner has made the "
     "work dir. MMEngine's Runner and PyTorch's DataLoader take: dataset, "
     'sampler, '),
    ('test.py', 'test_dataloader.sampler.shufle=False',
     '--cfg-options test_dataloader.sampler.shufle=False: DefaultSampler '
     "takes no argument 'shufle' (did you mean 'shuffle'?). It takes: "
     'shuffle, round_up.'),
])
def test_a_dataloader_argument_that_is_wrong_is_one_line(
        tmp_path, tiny_video_data, tool, option, line):
    """A dataloader or sampler argument misspelled was a traceback from
    inside the Runner's loop (``TypeError: DataLoader.__init__() got an
    unexpected keyword argument 'batch_sise'``)."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    assert refused_run(tool, config, tmp_path, '--cfg-options',
                       option).startswith('ConfigError: ' + line)
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_a_missing_annotation_file_is_named_before_the_runner(
        tmp_path, tiny_video_data, tool):
    """MMEngine reads an annotation list while the Runner builds its
    dataset: a path that was wrong ended the run with ``FileNotFoundError:
    Annotation file not found`` after the work dir was made (for the
    validation set, after the model was built). It is named, with its
    key, before anything is made."""
    loader = 'val_dataloader' if tool == 'train.py' else 'test_dataloader'
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        f"{loader} = dict(dataset=dict(ann_file='vall.txt', "
        f'data_root={str(tmp_path)!r}))\n')
    assert refused_run(tool, config, tmp_path) == (
        f'ConfigError: {config}: {loader}.dataset.ann_file '
        f'(CheckedVideoDataset): the annotation file {tmp_path}/vall.txt '
        'does not exist.')
    assert not (tmp_path / 'w').exists()


def test_a_missing_image_folder_is_named_before_the_runner(tmp_path):
    """The tiny image config lists class folders (no annotation file);
    a ``data_root`` that was wrong was ``FileNotFoundError: [Errno 2] No
    such file or directory: '.../train'`` after the work dir was made."""
    proc = run_tool([
        'train.py', TINY_IMAGE_CONFIG, '--work-dir', tmp_path / 'w',
        '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/no'
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc) == (
        f'ConfigError: {TINY_IMAGE_CONFIG}: train_dataloader.dataset.'
        f'data_prefix (CustomDataset): the image folder {tmp_path}/no/train '
        'does not exist (without an ann_file, CustomDataset lists the class '
        'folders in it).')
    assert not (tmp_path / 'w').exists()


def test_an_annotation_file_that_is_a_folder_is_named_before_the_runner(
        tmp_path, tiny_video_data):
    """A folder given as ``ann_file`` passed the check before the Runner
    (it only asked whether the path exists), so the run made the work dir
    and ended later; it is named as a folder, with its key, before
    anything is made, as the datasets name it."""
    (tmp_path / 'val').mkdir()
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "val_dataloader = dict(dataset=dict(ann_file='val', "
        f'data_root={str(tmp_path)!r}))\n')
    assert refused_run('train.py', config, tmp_path) == (
        f'ConfigError: {config}: val_dataloader.dataset.ann_file '
        f'(CheckedVideoDataset): the annotation file {tmp_path}/val is a '
        'folder, not a file: give the path of the file itself.')
    assert not (tmp_path / 'w').exists()
