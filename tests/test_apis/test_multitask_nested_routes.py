# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A task that trained a module's own tensors and a module inside it
(``extra_trainable`` on a VideoMAE block's attention: its ``q_bias`` and
``v_bias``, and its ``proj`` and ``qkv``) is refused by name, and the
loaded tasks stay as they were."""
import pytest
from adapter_tasks import train_task, val_videos

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, TaskError

ATTENTION = ("custom_hooks = [dict(type='AdapterHook', extra_trainable="
             "[r'^backbone\\.blocks\\.1\\.attn\\.'], "
             'adapter_only_checkpoint=True)]\n')


@pytest.fixture(scope='module')
def attention_task(video_tasks, tiny_video_data, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('attention_task'))
    return train_task(root, 'attn', tiny_video_data, video_tasks['stock'],
                      ATTENTION)


@pytest.mark.parametrize('first', [True, False])
def test_nested_trained_modules_are_refused_by_name(first, attention_task,
                                                    video_tasks,
                                                    tiny_video_data,
                                                    clean_loggers):
    """Before: ``TaskLoadError: Task 'attn': AttributeError:
    'TaskRoutedModule' object has no attribute 'proj'``, first or later."""
    task = video_tasks['full']
    videos = val_videos(tiny_video_data, 2)
    engine = MultiTaskRecognizer()
    if not first:
        engine.add_task('full', task['config'], task['checkpoint'])
        before = engine(videos)
    with pytest.raises(TaskError) as info:
        engine.add_task('attn', attention_task['config'],
                        attention_task['checkpoint'])
    message = str(info.value)
    assert 'AttributeError' not in message
    assert 'backbone.backbone.blocks.1.attn (its own tensors trained by ' \
           "task 'attn' (['backbone.blocks.1.attn.q_bias'" in message
    assert 'holds backbone.backbone.blocks.1.attn.proj (trained by task ' \
           "'attn' (" in message
    assert "Serve task 'attn' alone" in message
    assert 'train it without the tensors backbone.backbone.blocks.1.attn ' \
           'holds itself' in message
    if first:
        assert engine.tasks == [] and engine.base is None
        engine.add_task('full', task['config'], task['checkpoint'])
    else:
        assert engine.tasks == ['full']
        assert engine(videos) == before
    # Alone, it is served.
    alone = ModelInferencer(attention_task['config'],
                            attention_task['checkpoint'])(
                                videos)
    assert all('scores' in answer['attn'] for answer in alone.values())


BIASES = ("custom_hooks = [dict(type='AdapterHook', extra_trainable="
          "[r'^backbone\\.blocks\\.1\\.attn\\.[qv]_bias$'], "
          'adapter_only_checkpoint=True)]\n')
PROJ = ("custom_hooks = [dict(type='AdapterHook', extra_trainable="
        "[r'^backbone\\.blocks\\.1\\.attn\\.proj\\.'], "
        'adapter_only_checkpoint=True)]\n')


@pytest.fixture(scope='module')
def split_tasks(video_tasks, tiny_video_data, tmp_path_factory):
    """One task trained the attention's own biases, one its ``proj``."""
    root = str(tmp_path_factory.mktemp('split_tasks'))
    return {
        name: train_task(root, name, tiny_video_data, video_tasks['stock'],
                         hook)
        for name, hook in [('biases', BIASES), ('proj', PROJ)]
    }


@pytest.mark.parametrize('loaded,new', [('biases', 'proj'),
                                        ('proj', 'biases')])
def test_a_loaded_task_that_nests_is_named(loaded, new, split_tasks,
                                           tiny_video_data, clean_loggers):
    """Each task alone nests nothing; the refusal names the task that
    trained each module. Before: ``the loaded tasks route ...attn (they
    trained tensors of its own) and of ...attn.proj inside it`` (not a
    sentence, no task named), or ``it trained tensors of ...attn itself
    (...) and of ...attn.proj inside it`` of a task that never trained
    ``proj``, with advice to drop tensors the new task does not train."""
    videos = val_videos(tiny_video_data, 2)
    engine = MultiTaskRecognizer()
    engine.add_task(loaded, split_tasks[loaded]['config'],
                    split_tasks[loaded]['checkpoint'])
    before = engine(videos)
    with pytest.raises(TaskError) as info:
        engine.add_task(new, split_tasks[new]['config'],
                        split_tasks[new]['checkpoint'])
    message = str(info.value)
    attn = 'backbone.backbone.blocks.1.attn'
    assert f"{attn} (its own tensors trained by task 'biases' " \
           "(['backbone.blocks.1.attn.q_bias'" in message
    assert f"holds {attn}.proj (trained by task 'proj' (" in message
    assert f'Serve task {new!r} alone (ModelInferencer, or tools/infer.py ' \
           f'without --task) or on an engine without task {loaded!r} ' \
           '(remove_task)' in message
    # Dropping the attention's own tensors is advised only to their owner.
    assert ('train it without the tensors' in message) == (new == 'biases')
    assert engine.tasks == [loaded] and engine(videos) == before
