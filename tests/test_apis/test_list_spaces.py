# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``read_input_list`` (``tools/infer.py --list``) on MMPretrain's
annotation files, whose ``path label`` lines are split at the last space
(``CustomDataset.load_data_list``): a path with spaces in them was
refused as missing, naming its first word."""
import pytest
from mmpretrain.datasets import CustomDataset

from mmadaptformer.apis import InferenceInputError, read_input_list


def test_a_path_label_line_whose_path_holds_spaces(tmp_path):
    """The file MMPretrain's own test set reads from the same line is the
    one listed; plain and first-field lines keep working."""
    folder = tmp_path / 'val'
    (folder / 'my cats').mkdir(parents=True)
    for name in ('my cats/a cat é.jpg', 'dog.jpg', 'bird.jpg'):
        (folder / name).write_bytes(b'')
    ann = tmp_path / 'val.txt'
    ann.write_text(
        'my cats/a cat é.jpg 1\ndog.jpg 0\nbird.jpg\n', encoding='utf-8')

    paths = read_input_list(str(ann), root=str(folder))

    assert paths == [
        str(folder / 'my cats/a cat é.jpg'),
        str(folder / 'dog.jpg'),
        str(folder / 'bird.jpg'),
    ]
    # What mmpretrain reads from the same annotation lines.
    (tmp_path / 'labelled.txt').write_text(
        'my cats/a cat é.jpg 1\ndog.jpg 0\n', encoding='utf-8')
    dataset = CustomDataset(
        ann_file=str(tmp_path / 'labelled.txt'),
        data_prefix=str(folder),
        classes=['x', 'y'],
        lazy_init=False)
    assert [dataset.get_data_info(i)['img_path']
            for i in range(len(dataset))] == paths[:2]


def test_a_missing_path_with_spaces_is_still_named_by_its_first_field(
        tmp_path):
    """Guards kept behaviour: a line none of whose readings is there is
    refused, naming the line and its first field."""
    (tmp_path / 'l.txt').write_text('gone cat.jpg 1\n')
    with pytest.raises(
            InferenceInputError,
            match=r"line 1: '.*gone' "
            r'\(its first field\) does not exist'):
        read_input_list(str(tmp_path / 'l.txt'))
