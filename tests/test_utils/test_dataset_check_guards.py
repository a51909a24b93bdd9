# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video list's problems are named for a wrapped dataset as for a plain
one, an unusable ``delimiter`` is named before the list is split, and an
image folder behind a URI is left to its backend."""
import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.dataset_check import check_datasets, missing_data


def _video(tmp_path, line: str, **kwargs) -> dict:
    """An mmaction2 ``VideoDataset`` whose list is the one ``line``."""
    (tmp_path / 'train.txt').write_text(line + '\n')
    return dict(
        type='VideoDataset',
        ann_file=str(tmp_path / 'train.txt'),
        data_prefix=dict(video=str(tmp_path)),
        pipeline=[],
        **kwargs)


def _refusal(dataset: dict) -> str:
    cfg = Config(
        dict(default_scope='mmaction', train_dataloader=dict(dataset=dataset)))
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['train_dataloader'])
    return str(error.value)


@pytest.mark.parametrize('wrapped', [False, True])
def test_the_list_of_a_wrapped_video_dataset_is_read(tmp_path, wrapped):
    """A guard of kept behaviour: a training set in a ``RepeatDataset``
    (as recipes repeat short epochs) has its list read too, and the key
    named is the inner dataset's."""
    video = _video(tmp_path, 'a.mp4,0')
    key = 'train_dataloader.dataset' + ('.dataset' if wrapped else '')
    dataset = dict(type='RepeatDataset', times=2, dataset=video) \
        if wrapped else video
    assert _refusal(dataset) == (
        f"c.py: {key}.delimiter=' ' (VideoDataset) does not split line 1 of "
        f"{tmp_path / 'train.txt'}, 'a.mp4,0', into '<path> <label>' (1 "
        f"field); split at ',' it is the path {tmp_path / 'a.mp4'} and "
        f"label 0: set {key}.delimiter=','.")


def test_an_empty_delimiter_is_named_before_the_list_is_split(tmp_path):
    """A guard of kept behaviour: ``str.split('')`` raises ``ValueError:
    empty separator``."""
    assert _refusal(_video(tmp_path, 'a.mp4 0', delimiter='')) == (
        "c.py: train_dataloader.dataset.delimiter='' (VideoDataset): the "
        'delimiter that splits each line of the list must be a non-empty '
        "str, such as ' ' or ','.")


def test_an_image_folder_behind_a_uri_is_left_to_its_backend(tmp_path):
    """A guard of kept behaviour: only a local folder is looked for."""
    init_default_scope('mmpretrain')

    def built(folder):
        return DATASETS.build(
            dict(
                type='CustomDataset',
                data_prefix=folder,
                pipeline=[],
                lazy_init=True))

    assert missing_data(built('s3://bucket/images')) is None
    folder = tmp_path / 'images'
    assert missing_data(built(str(folder))) == (
        'data_prefix',
        f'the image folder {folder} does not exist (without an ann_file, '
        'CustomDataset lists the class folders in it)')
