# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The small pieces of the inference path that decide which scores go with
which input and class, and where and what is drawn: each checked on its own,
with real files where it reads them."""
import logging

import cv2
import numpy as np
import pytest
import torch

from mmadaptformer.apis.batching import same_shape_runs
from mmadaptformer.apis.infer_label_maps import split_label_maps
from mmadaptformer.apis.show_dir import check_show_dir
from mmadaptformer.apis.visualize import (draw_and_report, prediction_text,
                                          top_classes)


def test_inputs_that_differ_in_their_first_dimension_forward_apart():
    """Two inputs of one height and width but another number of channels
    (or views) cannot share a forward: the data preprocessor would pad or
    fail on them."""
    data = [
        dict(inputs=torch.zeros(3, 4, 4)),
        dict(inputs=torch.zeros(1, 4, 4)),
        dict(inputs=torch.zeros(3, 4, 4)),
    ]
    assert same_shape_runs(data) == [[0, 2], [1]]


def test_top_classes_are_the_k_best_best_first_by_name():
    answer = dict(label=1, scores=[0.1, 0.5, 0.3, 0.05])
    assert top_classes(answer, ['a', 'b', 'c', 'd'], 3) == [('b', 0.5),
                                                            ('c', 0.3),
                                                            ('a', 0.1)]
    # A label the names do not reach is named by its index.
    assert top_classes(answer, ['a'], 2) == [('1', 0.5), ('2', 0.3)]


def test_a_task_that_skipped_an_input_draws_no_line_for_it():
    """A multi-task run's ``{"skipped": ...}`` answer (a clip folder for a
    task that decodes videos) is no failure and has no scores."""
    answers = {
        'frames': dict(skipped='a folder of frames'),
        'video': dict(label=0, scores=[0.75, 0.25]),
    }
    text = prediction_text(answers, {'video': ['run', 'jump']}, 1)
    assert text == 'video:\n  run (0.75)'


def test_the_drawing_report_counts_every_result_or_the_drawn_ones(tmp_path):
    image = tmp_path / 'in' / 'cat.png'
    image.parent.mkdir()
    cv2.imwrite(str(image), np.full((24, 32, 3), 128, np.uint8))
    results = {
        str(image): {
            'img': dict(label=1, scores=[0.2, 0.8])
        },
        str(tmp_path / 'in' / 'broken.png'): dict(error='cannot be read'),
    }
    lines = []

    def report(level, line):
        lines.append((level, line))

    show = str(tmp_path / 'vis')
    written, failed = draw_and_report(
        results, {'img': ['cat', 'dog']}, show, kind='image', report=report)
    assert list(written) == [str(image)] and not failed
    assert cv2.imread(written[str(image)]).shape == (24, 32, 3)
    assert lines == [(logging.INFO,
                      f'Drawings of 1 of 2 inputs written to {show}')]
    lines.clear()
    draw_and_report(
        results, {'img': ['cat', 'dog']},
        show,
        kind='image',
        report=report,
        count_all=False)
    assert lines == [(logging.INFO, f'Drawings of 1 input written to {show}')]


@pytest.mark.parametrize('given', [list, tuple])
def test_a_show_dir_inside_an_input_folder_is_refused_for_any_sequence(
        tmp_path, given):
    """The folders of a tuple of inputs are input folders too: drawings
    there would be classified by the next run."""
    folder = tmp_path / 'videos'
    folder.mkdir()
    video = folder / 'a.mp4'
    video.write_bytes(b'')
    items = [(str(video), str(video))]
    with pytest.raises(ValueError, match='inside the input folder'):
        check_show_dir(
            str(folder / 'vis'), items, given([str(folder)]), 'video')


@pytest.mark.parametrize('topk', [0, -1, True, 1.5])
def test_show_topk_that_is_no_count_is_refused(tmp_path, topk):
    with pytest.raises(ValueError, match=f'show_topk: .*got {topk!r}'):
        check_show_dir(str(tmp_path / 'vis'), [], [], 'video', topk)


def test_a_task_label_map_path_may_hold_an_equals_sign():
    """Task names have no ``=``; the first one ends the name."""
    assert split_label_maps(['k400=maps/a=b.txt', 'ssv2=s.txt'],
                            ['k400', 'ssv2']) == (None, {
                                'k400': 'maps/a=b.txt',
                                'ssv2': 's.txt'
                            })


@pytest.mark.parametrize('words, tasks, match', [
    (['a.txt', 'b.txt'], [], 'given 2 times, but one model takes one'),
    (['t=a.txt', 't=b.txt'], ['t'], 'task t is given two label maps '
     r'\(a.txt and b.txt\)'),
    (['u=a.txt'], ['t'], "there is no --task 'u'; the tasks are t"),
    (['a.txt'], ['t', 's'], r'--label-map NAME=a.txt \(the tasks: t, s\)'),
])
def test_label_maps_that_cannot_be_placed_are_named(words, tasks, match):
    with pytest.raises(ValueError, match=match):
        split_label_maps(words, tasks)


def _config_names(**dataset):
    from mmengine.config import Config

    from mmadaptformer.apis.label_maps import config_class_names
    return config_class_names(
        Config(dict(test_dataloader=dict(dataset=dataset))))


def test_two_label_maps_beside_the_ann_file_name_no_classes(tmp_path):
    """Which of two label maps names the classes cannot be told: neither
    is taken (the first would give every score another dataset's name)."""
    (tmp_path / 'a_label_map.txt').write_text('run\nsit\n')
    ann_file = str(tmp_path / 'val.txt')
    assert _config_names(ann_file=ann_file) == ['run', 'sit']
    (tmp_path / 'b_label_map.txt').write_text('sit\nrun\n')
    assert _config_names(ann_file=ann_file) is None


def test_the_innermost_of_wrapped_datasets_names_the_classes():
    inner = dict(type='VideoDataset', metainfo=dict(classes=['up', 'down']))
    twice = dict(
        type='RepeatDataset',
        times=2,
        dataset=dict(type='ClassBalancedDataset', dataset=inner))
    assert _config_names(**twice) == ['up', 'down']


def test_metainfo_classes_come_before_the_dataset_classes():
    assert _config_names(
        metainfo=dict(classes=['cat', 'dog']),
        classes=['x', 'y']) == ['cat', 'dog']


@pytest.mark.parametrize('prefix', ['train', dict(img_path='train')])
def test_class_folders_are_the_folders_under_the_image_prefix(
        tmp_path, prefix):
    """mmpretrain's ``CustomDataset`` names its classes by the sorted
    folders under ``data_root/data_prefix``; a file there is no class."""
    for name in ('zebra', 'ant'):
        (tmp_path / 'train' / name).mkdir(parents=True)
    (tmp_path / 'train' / 'README.txt').write_text('notes\n')
    (tmp_path / 'other').mkdir()
    assert _config_names(
        type='CustomDataset', data_root=str(tmp_path),
        data_prefix=prefix) == ['ant', 'zebra']


def test_class_folders_of_a_dataset_type_given_as_the_class(tmp_path):
    """A pure-Python config gives the type as the class (``type=
    CustomDataset``, imported): its class folders name the classes as
    those of the type given by name do. They were None."""
    from mmpretrain.datasets import CustomDataset

    from mmadaptformer.datasets import CheckedImageDataset
    for name in ('zebra', 'ant'):
        (tmp_path / 'train' / name).mkdir(parents=True)
    for kind in ('CustomDataset', CustomDataset, CheckedImageDataset):
        assert _config_names(
            type=kind, data_root=str(tmp_path),
            data_prefix='train') == ['ant', 'zebra'], kind


def test_a_folder_is_expanded_in_sorted_order(tmp_path):
    """The results (and ``--out``) list a folder's files sorted by path,
    not in the order the file system lists them."""
    from mmadaptformer.apis.infer_files import collect_inputs
    for name in ('z.mp4', 'sub/b.mp4', 'a.mp4', 'm.mp4', 'sub/a.mp4'):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b'')
    assert collect_inputs(str(tmp_path)) == [
        str(tmp_path / n)
        for n in ('a.mp4', 'm.mp4', 'sub/a.mp4', 'sub/b.mp4', 'z.mp4')
    ]


def test_a_repeated_input_keeps_its_first_spelling_and_place():
    from mmadaptformer.apis.infer_files import each_once
    assert each_once(['./a.mp4', 'b.mp4', 'a.mp4'],
                     'files') == ['./a.mp4', 'b.mp4']


def test_without_extensions_an_empty_folder_is_no_input(tmp_path):
    """Guards kept behaviour: only a folder without a file of the kinds
    the models classify (``extensions``) is refused."""
    from mmadaptformer.apis.infer_files import collect_inputs
    assert collect_inputs([str(tmp_path)]) == []


def test_stems_that_differ_in_case_keep_their_whole_names():
    """``Clip.avi`` and ``clip.webm`` would be one drawing on a file system
    that ignores case (macOS, Windows)."""
    from mmadaptformer.apis.show_dir import show_paths
    assert show_paths(['in/Clip.avi', 'in/clip.webm'], 'vis', 'video') == {
        'in/Clip.avi': 'vis/Clip.avi.mp4',
        'in/clip.webm': 'vis/clip.webm.mp4'
    }


def test_a_clip_folder_beside_its_video_is_marked_as_frames(tmp_path):
    from mmadaptformer.apis.show_dir import show_paths
    folder = tmp_path / 'val_0_0'
    folder.mkdir()
    video = tmp_path / 'val_0_0.mp4'
    video.write_bytes(b'')
    show = str(tmp_path / 'vis')
    assert show_paths([str(folder), str(video)], show, 'video') == {
        str(folder): f'{show}/val_0_0.frames.mp4',
        str(video): f'{show}/val_0_0.mp4.mp4'
    }


def test_an_unreadable_config_is_named_once():
    from mmadaptformer.apis.infer_configs import unreadable_config_line
    assert unreadable_config_line('cfg.py', OSError('disk gone')) == \
        'The config cfg.py: OSError: disk gone'
    assert unreadable_config_line(
        'cfg.py', OSError('cfg.py: cannot be read')) == \
        'OSError: cfg.py: cannot be read'


def test_a_clip_folder_is_drawn_as_the_task_that_answered_it_names_frames(
        tmp_path):
    """Two rawframe tasks name frames differently; the one that failed on
    the folder (its frames are not named as it names them) does not say
    how the drawing reads them."""
    from mmadaptformer.apis.frame_folders import FrameFolders
    from mmadaptformer.apis.visualize import draw_results
    clip = tmp_path / 'clip'
    clip.mkdir()
    for index in range(3):
        cv2.imwrite(
            str(clip / f'frame_{index:03d}.jpg'),
            np.full((16, 24, 3), 40 * index, np.uint8))
    results = {
        str(clip): {
            'img': dict(error='no img_00001.jpg'),
            'frame': dict(label=0, scores=[0.6, 0.4]),
        }
    }
    frames = dict(
        img=FrameFolders(),
        frame=FrameFolders(filename_tmpl='frame_{:03d}.jpg', start_index=0))
    written, failed = draw_results(
        results, {}, str(tmp_path / 'vis'), frames=frames)
    assert not failed
    reader = cv2.VideoCapture(written[str(clip)])
    assert reader.get(cv2.CAP_PROP_FRAME_COUNT) == 3
    reader.release()
