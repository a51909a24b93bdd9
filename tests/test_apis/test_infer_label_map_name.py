# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py CONFIG CHECKPOINT INPUT --label-map NAME=FILE`` without
``--task``: the ``NAME=`` form is for a task, and the refusal says so and
gives the file alone. Before, the whole word was taken for a file:
``infer.py: error: --label-map x=labels.txt: no such file``."""
import cv2
import numpy as np
import pytest
import torch
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.apis.infer_cli import parse_infer_args


@pytest.fixture
def files(tmp_path):
    image = str(tmp_path / 'img.png')
    cv2.imwrite(image, np.zeros((32, 32, 3), np.uint8))
    checkpoint = str(tmp_path / 'ck.pth')
    torch.save(dict(state_dict={}), checkpoint)
    labels = tmp_path / 'labels.txt'
    labels.write_text('a\nb\n')
    return dict(image=image, checkpoint=checkpoint, labels=str(labels))


def _refusal(argv, capsys) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        parse_infer_args(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1].partition(
        ': error: ')[2]


def test_a_task_label_map_without_task_says_to_give_the_file(files, capsys):
    word = f'hmdb51={files["labels"]}'
    line = _refusal([
        TINY_IMAGE_CONFIG, files['checkpoint'], files['image'], '--label-map',
        word
    ], capsys)
    assert line == (
        f'--label-map {word}: NAME=FILE names the classes '
        'of the --task NAME, and no --task is given; for the one model give '
        f'the file alone, --label-map {files["labels"]}'), line


def test_a_label_map_file_whose_name_holds_an_equals_sign(
        files, tmp_path, capsys):
    """Guard of kept behaviour: a file named ``a=b.txt`` that is there is
    the one model's label map, whatever its name holds."""
    odd = tmp_path / 'top=2.txt'
    odd.write_text('a\nb\n')
    args = parse_infer_args([
        TINY_IMAGE_CONFIG, files['checkpoint'], files['image'], '--label-map',
        str(odd)
    ])
    assert args.label_map == str(odd)
