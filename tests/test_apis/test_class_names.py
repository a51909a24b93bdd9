# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Where inference finds a model's class names when its checkpoint records
none: the label map beside the test set's ``ann_file``, found where the
dataset reads that file (under its ``data_root``), and the ``label_map``
argument, checked before the model is read."""
import os.path as osp

import pytest
from checkpoint_makers import save_stock_video_checkpoint
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer


@pytest.fixture(scope='module')
def stock_video(tmp_path_factory):
    """A one-video-per-class tiny video set and a stock checkpoint of its
    recognizer, whose meta names no classes."""
    from mmadaptformer.testing import make_moving_square_dataset
    root = tmp_path_factory.mktemp('stock_video')
    data = make_moving_square_dataset(
        str(root / 'tiny'), num_per_class=1, splits=('val', ))
    checkpoint = str(root / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    return dict(root=root / 'tiny', videos=data['videos'], ckpt=checkpoint)


def test_the_label_map_beside_an_ann_file_under_data_root_names_classes(
        stock_video, tmp_path, monkeypatch):
    """A test set with ``data_root`` and an ``ann_file`` relative to it
    (MMEngine's datasets join the two) took its label map from beside the
    ``ann_file`` as a path relative to the current directory: the names
    were None, or those of another dataset's label map there."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope
    root = stock_video['root']
    (root / 'tiny_label_map.txt').write_text('rightwards\nleftwards\n')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    (elsewhere / 'other_label_map.txt').write_text('cat\ndog\n')
    monkeypatch.chdir(elsewhere)
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.test_dataloader.dataset.update(
        data_root=str(root),
        ann_file='val.txt',
        data_prefix=dict(video='videos'))
    # The dataset reads its list there: the config is a working one.
    init_default_scope('mmaction')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert dataset.ann_file == osp.join(str(root), 'val.txt')
    assert len(dataset) == 2

    inferencer = ModelInferencer(cfg, stock_video['ckpt'])
    assert inferencer.classes == ['rightwards', 'leftwards']
    video = osp.join(stock_video['videos'], 'val_0_0.mp4')
    answer = inferencer(video)[video][inferencer.name]
    assert answer['class'] == ['rightwards', 'leftwards'][answer['label']]


@pytest.mark.parametrize('kind', ['missing', 'folder'])
def test_a_label_map_that_is_no_file_is_named_before_the_model_loads(
        stock_video, tmp_path, kind):
    """``label_map=`` naming no file raised a bare ``[Errno 2] No such file
    or directory`` (or ``[Errno 21] Is a directory``) once the model and
    its checkpoint had been read; now the argument is named first, before
    anything is read, by ``ModelInferencer`` and by ``add_task``, whose
    tasks are left as they were."""
    label_map = tmp_path / 'classes.txt'
    if kind == 'folder':
        label_map.mkdir()
    # A checkpoint that is not there either: the label map is named first.
    missing_ckpt = str(tmp_path / 'not_read.pth')
    expected = (f'label_map {label_map}: ' +
                ('a folder' if kind == 'folder' else 'no such file'))
    for checkpoint in (stock_video['ckpt'], missing_ckpt):
        with pytest.raises(FileNotFoundError) as error:
            ModelInferencer(
                TINY_VIDEO_CONFIG, checkpoint, label_map=str(label_map))
        assert str(error.value).startswith(expected), error.value
        assert 'the class of label i on line i + 1' in str(error.value)

    engine = MultiTaskRecognizer()
    with pytest.raises(Exception) as error:
        engine.add_task(
            'moves', TINY_VIDEO_CONFIG, missing_ckpt, label_map=str(label_map))
    assert str(error.value).startswith(
        f"Task 'moves': FileNotFoundError: {expected}"), error.value
    assert engine.tasks == []


def test_a_head_of_another_size_is_refused_on_one_line(stock_video,
                                                       video_tasks):
    """A full or adapter-only checkpoint whose head has another number of
    classes than the config's: ``init_model`` (and so ``tools/infer.py``,
    ``ModelInferencer``) named the mismatch and its fix, then asked on a
    second line whether it is a checkpoint of this config's model, which
    it is. A checkpoint of another architecture keeps that question."""
    from mmengine.config import Config

    from mmadaptformer.apis import init_model
    from mmadaptformer.utils.state_dict_check import StateDictMismatchError
    for config, checkpoint in (
        (TINY_VIDEO_CONFIG, stock_video['ckpt']),
        (video_tasks['full']['config'], video_tasks['full']['checkpoint']),
    ):
        cfg = Config.fromfile(config)
        cfg.model.cls_head.num_classes = 3
        with pytest.raises(StateDictMismatchError) as error:
            init_model(cfg, checkpoint)
        message = str(error.value)
        assert message.startswith(
            f'{checkpoint} (config {config}) does not fit the model: its '
            'head was trained for another number of classes: num_classes '
            '(model.cls_head.num_classes): checkpoint 2, this model 3 ('), \
            message
        assert message.endswith('Nothing of it was loaded.'), message
        assert '\n' not in message
    # Another architecture (wider blocks): the question stays.
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.model.backbone.mlp_ratio = 4
    with pytest.raises(StateDictMismatchError) as error:
        init_model(cfg, stock_video['ckpt'])
    assert str(error.value).endswith(
        "\nIs it a checkpoint of this config's model?"), error.value
