# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A list file given to ``ModelInferencer`` as an input: its error said it
is "neither a video nor an image" and nothing more; it now points to
reading it as a list (``read_input_list`` in Python, ``--list`` in
``tools/infer.py``, which refuses such an INPUT itself), and following the
pointer classifies the files it names."""
import os.path as osp

import pytest
from helpers import (run_tool, save_as_built_checkpoint, stripes_config,
                     stripes_images)

from mmadaptformer.apis import ModelInferencer, read_input_list


@pytest.fixture(scope='module')
def model(tiny_image_data, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('list_input_pointer')
    config = stripes_config(tmp_path, tiny_image_data)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'full.pth')
    return dict(
        config=config,
        checkpoint=checkpoint,
        inferencer=ModelInferencer(config, checkpoint, name='stripes'))


def test_a_list_file_input_points_to_reading_it_as_a_list(
        model, tiny_image_data, tmp_path):
    images = stripes_images(tiny_image_data)[:2]
    listed = tmp_path / 'inputs.lst'
    listed.write_text(''.join(f'{path}\n' for path in images))
    path = str(listed)
    inferencer = model['inferencer']
    error = inferencer([path])[path]['error']
    assert error.startswith(f'{path}: is neither a video nor an image this '
                            "tool reads (extension '.lst')"), error
    assert (f'inputs=mmadaptformer.apis.read_input_list({path!r}) in '
            f'Python, --list {path} in tools/infer.py.') in error, error
    # The pointer works: the files it names are classified.
    results = inferencer(read_input_list(path))
    assert list(results) == images
    assert all('stripes' in answer for answer in results.values()), results


def test_another_text_file_gets_no_list_pointer(model, tmp_path):
    """Guards behaviour that already worked: a file of another extension
    is not taken for a list."""
    notes = tmp_path / 'notes.csv'
    notes.write_text('not an image\n')
    error = model['inferencer']([str(notes)])[str(notes)]['error']
    assert 'neither a video nor an image' in error, error
    assert 'read_input_list' not in error and '--list' not in error, error


def test_infer_names_a_list_inside_a_list(model, tiny_image_data, tmp_path):
    """tools/infer.py refuses a list among its INPUTs itself; a list that a
    --list file names reaches the inputs' check, which now says it."""
    inner = tmp_path / 'inner.txt'
    inner.write_text(stripes_images(tiny_image_data)[0] + '\n')
    outer = tmp_path / 'outer.txt'
    outer.write_text(f'{inner}\n')
    out = tmp_path / 'r.json'
    proc = run_tool([
        'infer.py', model['config'], model['checkpoint'], '--list',
        str(outer), '--out',
        str(out)
    ],
                    cwd=tmp_path,
                    check=False)
    assert osp.exists(out), proc.stdout[-2000:]
    assert f'--list {inner} in tools/infer.py' in out.read_text()
