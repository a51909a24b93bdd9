# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What an image model's inferencer says about inputs it cannot read: an
address (mmpretrain's ``ImageClassificationInferencer`` downloads one; ours
reads local files), a pattern the shell did not expand and an empty file
are named as such, not as a missing file or an OpenCV assertion."""
import os.path as osp

import pytest
from helpers import save_as_built_checkpoint, stripes_config, stripes_images

from mmadaptformer.apis import ModelInferencer


@pytest.fixture(scope='module')
def inferencer(tiny_image_data, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('image_input_errors')
    config = stripes_config(tmp_path, tiny_image_data)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'full.pth')
    return ModelInferencer(config, checkpoint)


def _error(inferencer, path) -> str:
    answer = inferencer([path])[path]
    assert set(answer) == {'error'}, answer
    return answer['error']


def test_an_address_is_named_as_an_address(inferencer):
    url = 'http://127.0.0.1:1/val/horizontal/0.png'
    error = _error(inferencer, url)
    assert error.startswith(f'{url}: is an address'), error
    assert 'no such file' not in error
    assert 'local' in error


def test_an_unexpanded_pattern_names_its_matches(inferencer, tiny_image_data):
    pattern = osp.join(tiny_image_data, 'val', '*', '0.png')
    error = _error(inferencer, pattern)
    assert error.startswith(f'{pattern}: no such file; as a pattern it '
                            'matches 2 files'), error


def test_a_missing_file_is_still_a_missing_file(inferencer, tmp_path):
    """Guard of kept behaviour: a plain path that is not there."""
    path = str(tmp_path / 'gone.png')
    assert _error(inferencer, path) == f'{path}: no such file.'


def test_a_link_whose_target_is_gone_is_named_a_link(inferencer, tmp_path):
    """A dangling link (``ls`` lists it) was ``no such file``."""
    absolute = tmp_path / 'absolute.jpg'
    absolute.symlink_to(tmp_path / 'moved' / 'a.jpg')
    assert _error(inferencer, str(absolute)) == (
        f"{absolute}: a link to '{tmp_path / 'moved' / 'a.jpg'}', which is "
        'not there (moved or deleted?); link it to the file, or give the '
        'file.')
    (tmp_path / 'links').mkdir()
    relative = tmp_path / 'links' / 'relative.jpg'
    relative.symlink_to('../moved/b.jpg')
    assert _error(inferencer, str(relative)) == (
        f"{relative}: a link to '../moved/b.jpg' "
        f"({tmp_path / 'moved' / 'b.jpg'}), which is not there (moved or "
        'deleted?); link it to the file, or give the file.')


def test_an_empty_image_file_is_named_empty(inferencer, tmp_path):
    path = str(tmp_path / 'empty.jpg')
    open(path, 'wb').close()
    assert _error(inferencer, path) == f'{path}: is empty (0 bytes).'


def test_good_images_are_still_answered_beside_them(inferencer,
                                                    tiny_image_data, tmp_path):
    """Guard of kept behaviour: the other inputs of the call are answered."""
    empty = str(tmp_path / 'empty.png')
    open(empty, 'wb').close()
    good = stripes_images(tiny_image_data)[0]
    answers = inferencer([empty, good])
    assert 'error' in answers[empty]
    assert set(answers[good]['stripes']) == {'label', 'class', 'scores'}
