# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A sample whose file name holds whitespace cannot be an annotation line
(both toolboxes split a line at a space): writing it is refused, naming
where it was read, before the list is written."""
import pytest

from mmadaptformer.datasets import AnnotationError
from mmadaptformer.datasets.hmdb51 import build_hmdb51_file_lists


def test_a_class_folder_with_a_space_is_refused(tmp_path):
    """Guards against dropping the whitespace check of
    ``write_annotation_list`` (annotation_lists.py): an HMDB51 split file
    ``brush hair_test_split1.txt`` gave lines ``brush hair/a.avi 0``,
    which mmaction2 reads as the video ``brush``."""
    splits = tmp_path / 'splits'
    splits.mkdir()
    split = splits / 'brush hair_test_split1.txt'
    split.write_text('a.avi 1\nb.avi 2\n')
    out = tmp_path / 'out'
    with pytest.raises(AnnotationError) as info:
        build_hmdb51_file_lists(
            str(splits), str(out), splits=(1, ), num_classes=1)
    assert str(info.value) == (
        f"{split}:1: file name 'brush hair/a.avi' is empty or contains "
        'whitespace, which annotation lists cannot hold')
    assert not out.exists() or not any(out.iterdir())
