# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A label map whose every line is ``<index> <name>`` (``0 abseiling``)
is warned of where the APIs read it (:func:`~mmadaptformer.apis.
class_names`), once, naming the file and its line 1: by
``ModelInferencer(label_map=...)`` and ``MultiTaskRecognizer.add_task(...,
label_map=...)`` too. Before, only tools/infer.py warned, and a Python
caller got class names with the numbers in them unsaid."""
import logging

import pytest
from adapter_tasks import random_task_checkpoints
from checkpoint_makers import save_as_built_checkpoint
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG

from mmadaptformer import apis


def _warning(label_map):
    return (f'Label map {label_map}: every line starts with its index (line '
            "1: '0 abseiling'), which is kept as part of the class name, as "
            "MMAction2's and MMPretrain's label map readers keep it: the "
            'class of label i is the whole of line i + 1. Remove the indices '
            'if they are not part of the names.')


def _said(log_records):
    return [(r.levelno, r.getMessage()) for r in log_records
            if 'index' in r.getMessage()]


@pytest.fixture
def numbered(tmp_path):
    path = tmp_path / 'numbered.txt'
    path.write_text('0 abseiling\n1 air drumming\n')
    return str(path)


def test_model_inferencer_warns_of_a_numbered_label_map_once(
        tmp_path, numbered, log_records):
    checkpoint = save_as_built_checkpoint(TINY_VIDEO_CONFIG,
                                          tmp_path / 'full.pth')
    engine = apis.ModelInferencer(
        TINY_VIDEO_CONFIG, checkpoint, label_map=numbered)
    # Read as upstream reads it: the whole line is the name.
    assert engine.classes == ['0 abseiling', '1 air drumming']
    assert _said(log_records) == [(logging.WARNING, _warning(numbered))]


def test_add_task_warns_of_a_numbered_label_map_once(tmp_path, numbered,
                                                     log_records):
    first, = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction',
                                     tmp_path, (1, ))
    engine = apis.MultiTaskRecognizer()
    engine.add_task(
        'a', TINY_ADAPTFORMER_VIDEO_CONFIG, first, label_map=numbered)
    assert engine.classes_of('a') == ['0 abseiling', '1 air drumming']
    # Which task's label map: before, the warning did not say.
    assert _said(log_records) == [(logging.WARNING,
                                   f"Task 'a': {_warning(numbered)}")]


@pytest.mark.parametrize('text', [
    '3 point shot\n4 wheel drive\n', '0 a\n2 b\n',
    '0 abseiling\nair drumming\n', 'abseiling\nair drumming\n'
])
def test_names_that_only_start_with_numbers_are_not_warned_of(
        tmp_path, log_records, text):
    """Guard of kept behaviour: names such as "3 point shot", or numbers
    that are no line's index, are names."""
    from mmengine.config import Config
    label_map = tmp_path / 'names.txt'
    label_map.write_text(text)
    names = apis.class_names(Config(dict()), str(label_map), num_classes=2)
    assert names == text.splitlines()
    assert _said(log_records) == []
