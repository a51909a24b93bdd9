# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A user serving tiny trained tasks: paths that start with ``~``, a task
trained on another backbone whose config names the shared one, a stock
model among AdaptFormer tasks, a folder given as a file."""
import os
import os.path as osp
import shutil

import pytest
from adapter_tasks import val_videos
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     pretrained_cfg, write_config)
from task_engines import assert_task_scores

from mmadaptformer.apis import (ModelInferencer, MultiTaskRecognizer,
                                TaskError, TaskLoadError)
from mmadaptformer.utils.local_files import first_missing_file


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder of the test's own (``~`` is ``$HOME``)."""
    folder = tmp_path / 'home'
    folder.mkdir()
    monkeypatch.setenv('HOME', str(folder))
    return folder


def test_checkpoints_under_home_load_as_mmengine_loads_them(
        video_tasks, video_tasks_alone, tiny_video_data, home, clean_loggers):
    """``~/task.pth`` is the home file, as MMEngine's ``load_checkpoint``
    (and so ``init_recognizer``) reads it: the first task (loaded in full)
    and a later adapter-only one (loaded without its backbone) answer as
    each alone. Before, both were refused: "Checkpoint file ~/full.pth does
    not exist."."""
    for name in ('full', 'last'):
        shutil.copy(video_tasks[name]['checkpoint'], home / f'{name}.pth')
    engine = MultiTaskRecognizer()
    for name in ('full', 'last'):
        engine.add_task(name, video_tasks[name]['config'], f'~/{name}.pth')
    videos = val_videos(tiny_video_data)
    results = engine(videos, batch_size=4)
    for name in ('full', 'last'):
        assert_task_scores(results, video_tasks_alone[name], name, videos)
    alone = ModelInferencer(video_tasks['full']['config'], '~/full.pth')
    assert_task_scores(
        alone(videos, batch_size=4), video_tasks_alone['full'],
        osp.splitext(osp.basename(video_tasks['full']['config']))[0], videos)


def test_a_home_path_that_is_not_expanded_says_so(video_tasks, tiny_video_data,
                                                  home, clean_loggers):
    """A config, label map, input or command-line file given as ``~/...``
    (not expanded by ``Config.fromfile``, ``open`` or decord) is named
    with the home file it would be, not said to be missing without a
    word: before, "Config file ~/full.py does not exist." of a file that
    is there."""
    task = video_tasks['full']
    shutil.copy(task['config'], home / 'full.py')
    video = val_videos(tiny_video_data, 1)[0]
    shutil.copy(video, home / 'clip.mp4')
    (home / 'names.txt').write_text('a\nb\n')
    note = 'a leading ~ is not expanded here; the file is {}: give that path'
    engine = MultiTaskRecognizer()
    with pytest.raises(TaskLoadError) as info:
        engine.add_task('full', '~/full.py', task['checkpoint'])
    assert 'Config file ~/full.py does not exist (' + note.format(
        home / 'full.py') + ').' in str(info.value)
    with pytest.raises(TaskLoadError) as info:
        engine.add_task(
            'full',
            task['config'],
            task['checkpoint'],
            label_map='~/names.txt')
    assert 'label_map ~/names.txt: no such file (' + note.format(
        home / 'names.txt') + ')' in str(info.value)
    engine.add_task('full', task['config'], task['checkpoint'])
    results = engine(['~/clip.mp4', video])
    assert results['~/clip.mp4'] == {
        'error':
        '~/clip.mp4: no such file (' + note.format(home / 'clip.mp4') + ').'
    }
    assert results[video]['full']['label'] in (0, 1)
    assert first_missing_file([('~/clip.mp4', '--pretrained')]) == \
        '--pretrained ~/clip.mp4: no such file (' + note.format(
            home / 'clip.mp4') + ')'
    assert first_missing_file([('~/nothing.pth', '--pretrained')]) == \
        '--pretrained ~/nothing.pth: no such file'


def test_a_task_of_another_backbone_configured_on_the_shared_one(
        video_tasks, tmp_path, clean_loggers):
    """A task trained on another backbone whose config names the shared
    backbone's file (what ``tools/infer.py --pretrained`` does to every
    task) is refused saying that its config names the shared file, which
    it was not trained on, and naming the file its checkpoint records;
    before, the message said "Its config names
    stock.pth as its frozen backbone.", the very file the shared backbone
    was named as coming from, as if that were another one."""
    engine = MultiTaskRecognizer()
    engine.add_task('full', video_tasks['full']['config'],
                    video_tasks['full']['checkpoint'])
    config = write_config(tmp_path / 'other_on_stock.py',
                          video_tasks['other']['config'],
                          pretrained_cfg(video_tasks['stock']))
    with pytest.raises(TaskError) as info:
        engine.add_task('other', config, video_tasks['other']['checkpoint'])
    message = str(info.value)
    key = 'model.backbone.backbone.init_cfg.checkpoint'
    stock = f"{video_tasks['stock']} ({key})"
    assert f'frozen weights from {stock}' in message
    assert 'as its frozen backbone' not in message
    assert f"Its config names the shared backbone's file too ({stock}), so " \
        'that is not the file its checkpoint was trained on' in message
    other = osp.join(video_tasks['root'], 'other.pth')
    assert 'tools/infer.py\'s --pretrained names it for every task). Its ' \
        f'checkpoint records that it was trained on {other}.' in message
    assert engine.tasks == ['full']


def test_a_file_named_inside_the_shared_ones_path_is_not_the_shared_one(
        video_tasks, tmp_path, clean_loggers):
    """The shared backbone's files are compared as files, not looked up in
    its origin's text: a shared backbone loaded from
    ``.../copy, <stock>`` (a folder named ``copy, ``) ended, as text, in
    ``, <stock> (key))``, so a task whose config names ``<stock>`` was told
    that its config names the shared backbone's file too."""
    stock = video_tasks['stock']
    shared = str(tmp_path / 'copy, ') + stock
    os.makedirs(osp.dirname(shared))
    shutil.copy(stock, shared)
    first = write_config(tmp_path / 'full_on_copy.py',
                         video_tasks['full']['config'], pretrained_cfg(shared))
    engine = MultiTaskRecognizer()
    engine.add_task('full', first, video_tasks['full']['checkpoint'])
    config = write_config(tmp_path / 'other_on_stock.py',
                          video_tasks['other']['config'],
                          pretrained_cfg(stock))
    with pytest.raises(TaskError) as info:
        engine.add_task('other', config, video_tasks['other']['checkpoint'])
    message = str(info.value)
    key = 'model.backbone.backbone.init_cfg.checkpoint'
    assert f'frozen weights from {shared} ({key})' in message
    assert "the shared backbone's file too" not in message
    assert f'Its config names {stock} ({key}) as its frozen backbone.' \
        in message


def test_a_stock_model_among_adaptformer_tasks_is_named_as_one(
        video_tasks, clean_loggers):
    """A stock model's config and full checkpoint (the backbone and a head,
    no adapters) next to an AdaptFormer task, in either order, is refused
    saying which of the two is no AdaptFormer model; before, the refusal
    read only "placement: None vs 'parallel' (this task vs the first)"."""
    stock = dict(config=TINY_VIDEO_CONFIG, checkpoint=video_tasks['stock'])
    full = video_tasks['full']
    for first, second in ((full, stock), (stock, full)):
        engine = MultiTaskRecognizer()
        engine.add_task('a', first['config'], first['checkpoint'])
        with pytest.raises(TaskError) as info:
            engine.add_task('b', second['config'], second['checkpoint'])
        task = 'b' if second is stock else 'a'
        assert f'task {task!r} ({TINY_VIDEO_CONFIG}) is no AdaptFormer ' \
            "model (its model.backbone is 'VisionTransformer', without " \
            'adapters), the other is one.' in str(info.value)
        assert 'placement' not in str(info.value)
        assert engine.tasks == ['a']


def test_a_folder_given_as_config_or_checkpoint_is_named_a_folder(
        tmp_path, clean_loggers):
    """A work dir given as the checkpoint (or as the config) is said to be
    a folder; before, both read "... does not exist." of a folder that is
    there."""
    work_dir = tmp_path / 'work_dir'
    work_dir.mkdir()
    for make in (MultiTaskRecognizer().add_task, ModelInferencer):
        args = ('t', ) if make is not ModelInferencer else ()
        with pytest.raises(Exception) as info:
            make(*args, TINY_ADAPTFORMER_VIDEO_CONFIG, str(work_dir))
        assert f'Checkpoint file {work_dir} is a folder, not a checkpoint ' \
            'file: give the .pth file in it' in str(info.value)
        with pytest.raises(Exception) as info:
            make(*args, str(work_dir), str(work_dir / 'epoch_1.pth'))
        assert f'Config file {work_dir} is a folder, not a config file' \
            in str(info.value)
        assert 'does not exist' not in str(info.value)


def test_a_home_path_in_an_input_list_names_the_home_file(tmp_path, home):
    """A list line ``~/clip.mp4`` (lists are not expanded) names the home
    file it would be, wherever the list lies; before, only "does not
    exist"."""
    from mmadaptformer.apis import InferenceInputError, read_input_list
    (home / 'clip.mp4').write_bytes(b'')
    folder = tmp_path / 'lists'
    folder.mkdir()
    listed = folder / 'inputs.txt'
    listed.write_text('~/clip.mp4 1\n')
    with pytest.raises(InferenceInputError) as info:
        read_input_list(str(listed))
    assert f"{folder / '~/clip.mp4'}' (its first field) does not exist (a " \
        f'leading ~ is not expanded here; the file is {home}/clip.mp4: ' \
        'give that path); 1 of the 1 paths' in str(info.value)
