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
    assert "backbone.backbone.blocks.1.attn itself (['backbone.blocks.1" \
           ".attn.q_bias'" in message
    assert 'backbone.backbone.blocks.1.attn.proj inside it' in message
    assert 'Serve it alone' in message
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
