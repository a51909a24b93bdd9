# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A task's ``label_map`` in :meth:`MultiTaskRecognizer.add_task`: a file
of the right length names its classes; a wrong one is refused with the
:class:`LabelMapError` that ``docs/multitask.md`` promises."""
import pytest

from mmadaptformer.apis import (LabelMapError, MultiTaskRecognizer,
                                TaskLoadError)


def test_a_label_map_names_only_its_task(video_tasks, tiny_video_data,
                                         tmp_path, clean_loggers):
    """Guard of kept behaviour: the map names one task's classes; the
    other task keeps its own."""
    names = tmp_path / 'names.txt'
    names.write_text('left\nright\n')
    engine = MultiTaskRecognizer()
    engine.add_task('full', **video_tasks['full'])
    engine.add_task('last', **video_tasks['last'], label_map=str(names))
    assert engine.classes_of('last') == ['left', 'right']
    assert engine.classes_of('full') != ['left', 'right']


@pytest.mark.parametrize('text, match', [
    ('a\nb\nc\n', r'3 class names, but the model has 2 classes'),
    ('a\n\nb\n', r'line 2'),
])
def test_a_wrong_label_map_raises_label_map_error(video_tasks, tmp_path,
                                                  clean_loggers, text, match):
    """``except LabelMapError`` catches a wrong map, as the doc says (it
    was a TaskLoadError only), and the loaded tasks stay as they were;
    it is still a TaskLoadError naming the task, caused by the map's
    error, for the callers that catch those (``tools/infer.py``)."""
    bad = tmp_path / 'bad.txt'
    bad.write_text(text)
    engine = MultiTaskRecognizer()
    engine.add_task('full', **video_tasks['full'])
    with pytest.raises(LabelMapError, match=match) as info:
        engine.add_task('last', **video_tasks['last'], label_map=str(bad))
    assert isinstance(info.value, TaskLoadError)
    assert isinstance(info.value.__cause__, LabelMapError)
    assert str(info.value).startswith("Task 'last': LabelMapError: ")
    assert str(bad) in str(info.value)
    assert engine.tasks == ['full']
    # The first task too: nothing is left loaded.
    engine = MultiTaskRecognizer()
    with pytest.raises(LabelMapError, match=match):
        engine.add_task('last', **video_tasks['last'], label_map=str(bad))
    assert engine.tasks == [] and engine.base is None
