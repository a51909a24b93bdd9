# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Two dataset mistakes that the tools took without a word, or named
without saying what was meant: ``--cfg-options data_root=X`` (the config
had copied the old ``data_root`` into its datasets, so training read the
old data) and a misspelled dataset argument (``ann_flie``)."""
import shlex

from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, run_tool,
                     video_data_cfg, write_config)
from refusal_lines import refused_line
from refused_runs import unread_checkpoint


def _refused(proc) -> str:
    return refused_line(proc)


def test_train_refuses_data_root_and_trains_with_the_keys_it_names(
        tmp_path, tiny_image_data):
    """With the working directory holding no ``data/tiny_image``, the old
    ``data_root`` the datasets kept was reported as a missing image folder
    after the user had given the right one; where it existed, training read
    it. The keys the refusal names train on the data given."""
    proc = run_tool([
        'train.py', TINY_IMAGE_CONFIG, '--work-dir', tmp_path / 'w',
        '--cfg-options', f'data_root={tiny_image_data}'
    ],
                    cwd=tmp_path,
                    check=False)
    line = _refused(proc)
    assert line.startswith(
        f'ConfigError: --cfg-options data_root={tiny_image_data} changes '
        'nothing: the config file copied its variable data_root '
        "('data/tiny_image') into train_dataloader.dataset.data_root, "
        'val_dataloader.dataset.data_root, test_dataloader.dataset.data_root '
        'when it was read'), line
    assert not (tmp_path / 'w').exists()
    options = shlex.split(line.split('Set those keys instead: ')[1])
    assert options[0] == '--cfg-options' and len(options) == 4
    proc = run_tool([
        'train.py', TINY_IMAGE_CONFIG, '--work-dir', tmp_path / 'w', *options,
        'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path)
    assert (tmp_path / 'w' / 'epoch_1.pth').exists(), proc.stdout[-3000:]


def test_test_names_a_misspelled_dataset_argument(tmp_path, tiny_video_data):
    """``ann_flie`` went through the ``**kwargs`` of CheckedVideoDataset
    and mmaction2's VideoDataset to MMEngine's BaseDataset, which refused
    it (``TypeError: BaseDataset.__init__() got an unexpected keyword
    argument 'ann_flie'``) without the class or what was meant."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint = unread_checkpoint(tmp_path)
    proc = run_tool([
        'test.py', config, checkpoint, '--work-dir', tmp_path / 'w',
        '--cfg-options', 'test_dataloader.dataset.ann_flie=a.txt'
    ],
                    cwd=tmp_path,
                    check=False)
    assert _refused(proc).startswith(
        "ConfigError: --cfg-options test_dataloader.dataset.ann_flie='a.txt'"
        ": unknown argument 'ann_flie' of CheckedVideoDataset (did you mean "
        "'ann_file'?). It takes: ann_file, pipeline, ")
    assert not (tmp_path / 'w').exists()


def test_train_names_a_wrapped_datasets_argument_in_the_config(
        tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        'train_dataloader = dict(dataset=dict(_delete_=True, '
        "type='RepeatDataset', times=2, dataset=dict(type="
        f"'CheckedVideoDataset', ann_file={tiny_video_data['train']!r}, "
        f"data_prefix=dict(video={tiny_video_data['videos']!r}), "
        "pipeline=[dict(type='DecordInit')], short_video='skip')))\n")
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert _refused(proc).startswith(
        f'ConfigError: {config}: train_dataloader.dataset.dataset.short_video'
        ": unknown argument 'short_video' of CheckedVideoDataset (did you "
        "mean 'short_videos' or 'start_index'?). It takes: ")
    assert not (tmp_path / 'w').exists()
