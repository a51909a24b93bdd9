# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A data tool given the dataset's root in place of the folder of its
annotation files names the folder that holds them.

``build_file_list.py data/hmdb51 data/hmdb51`` said only ``No HMDB51 split
files <class>_test_split1.txt in data/hmdb51``, and ``build_file_list.py
data/sthv2 data/sthv2`` only ``SSv2 labels JSON not found``, though
``testTrainMulti_7030_splits`` and ``annotations`` were right there. The
owners' unlabelled SSv2 test JSON given as the validation JSON is named."""
import json
import os

from helpers import run_tool


def test_hmdb51_root_given_names_the_split_folder(tmp_path):
    splits = tmp_path / 'data' / 'hmdb51' / 'testTrainMulti_7030_splits'
    os.makedirs(splits)
    (splits / 'wave_test_split1.txt').write_text('a.avi 1 \n')
    proc = run_tool(
        ['data/hmdb51/build_file_list.py', 'data/hmdb51', 'data/hmdb51'],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1] == (
        'error: No HMDB51 split files <class>_test_split1.txt in '
        'data/hmdb51; they are in data/hmdb51/testTrainMulti_7030_splits: '
        'give that folder as SPLIT_DIR')


def test_ssv2_root_given_names_the_annotations_folder(tmp_path):
    annotations = tmp_path / 'data' / 'sthv2' / 'annotations'
    os.makedirs(annotations)
    (annotations / 'something-something-v2-labels.json').write_text('{}')
    proc = run_tool(
        ['data/ssv2/build_file_list.py', 'data/sthv2', 'data/sthv2'],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1] == (
        'error: SSv2 labels JSON not found: '
        'data/sthv2/something-something-v2-labels.json; there is one at '
        'data/sthv2/annotations/something-something-v2-labels.json: give '
        'its folder in place of data/sthv2')


def test_a_wrong_root_stays_a_plain_not_found(tmp_path):
    """Guards kept behaviour: nothing to point at, nothing added."""
    os.makedirs(tmp_path / 'data' / 'hmdb51')
    proc = run_tool(['data/hmdb51/build_file_list.py', 'data/hmdb51', 'out'],
                    cwd=tmp_path,
                    check=False)
    assert proc.stdout.strip().splitlines()[-1] == (
        'error: No HMDB51 split files <class>_test_split1.txt in data/hmdb51')


def test_ssv2_test_json_given_as_validation_is_named(tmp_path):
    """``--val-json something-something-v2-test.json`` said only
    ``expected a "template" string, got None``."""
    annotations = tmp_path / 'annotations'
    os.makedirs(annotations)
    classes = {f'Doing {i} with something': str(i) for i in range(174)}
    entry = dict(id='1', label='x', template='Doing 0 with [something]')
    for name, data in (('labels', classes), ('train', [entry]),
                       ('test', [dict(id='2')])):
        (annotations / f'something-something-v2-{name}.json').write_text(
            json.dumps(data))
    proc = run_tool([
        'data/ssv2/build_file_list.py', 'annotations', 'out', '--val-json',
        'something-something-v2-test.json'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1] == (
        'error: annotations/something-something-v2-test.json: entry 0 (id '
        '\'2\'): expected a "template" string, got None; an entry of only '
        'an "id" is one of the owners\' unlabelled test set '
        '(something-something-v2-test.json): give the train or validation '
        'JSON')
