# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`check_head_classes`'s comparisons of the class counts, in-process
on the tiny image config (head of 2, data of 2 classes): a number on
either side of the head's is refused, the same number is not, and the
class names are cut after 6.

A ``!=`` slipped to ``>`` or ``<``, or an ``==`` to ``<=`` or ``>=``,
was caught only by the subprocess tool tests."""
import pytest
from config_writers import image_data_cfg, write_config
from mmengine.config import Config
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.engine.head_classes_check import check_head_classes
from mmadaptformer.utils import ConfigError


def _check(tmp_path, root, body):
    cfg = Config.fromfile(
        write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                     image_data_cfg(root) + body))
    check_head_classes(cfg, 'cfg.py', ['train_dataloader'])


def _refusal(tmp_path, root, body) -> str:
    with pytest.raises(ConfigError) as error:
        _check(tmp_path, root, body)
    return str(error.value)


@pytest.mark.parametrize('number', [1, 3])
def test_a_model_num_classes_either_side_of_the_heads_is_refused(
        tmp_path, tiny_image_data, number):
    message = _refusal(
        tmp_path, tiny_image_data,
        f'model = dict(data_preprocessor=dict(num_classes={number}))\n')
    assert message.startswith(
        'cfg.py: model.head.num_classes=2 but '
        f'model.data_preprocessor.num_classes={number}. Set '
        'model.data_preprocessor.num_classes to 2 too'), message


def test_a_model_num_classes_equal_to_the_heads_is_not_refused(
        tmp_path, tiny_image_data):
    _check(tmp_path, tiny_image_data,
           'model = dict(data_preprocessor=dict(num_classes=2))\n')


@pytest.mark.parametrize('head', [1, 3])
def test_data_classes_either_side_of_the_heads_are_refused(
        tmp_path, tiny_image_data, head):
    message = _refusal(
        tmp_path, tiny_image_data,
        f'model = dict(head=dict(num_classes={head}), '
        f'data_preprocessor=dict(num_classes={head}))\n')
    assert message.startswith(
        f'cfg.py: model.head.num_classes={head} but train_dataloader.dataset '
        'has 2 classes (class folders of CustomDataset in '
        f"{tiny_image_data}/train) ('horizontal', 'vertical')."), message


@pytest.mark.parametrize('count, shown', [(6, 'c0 c1 c2 c3 c4 c5'),
                                          (7, 'c0 c1 c2 c3 c4 c5 ...')])
def test_class_names_are_cut_after_six(tmp_path, tiny_image_data, count,
                                       shown):
    classes = [f'c{i}' for i in range(count)]
    message = _refusal(
        tmp_path, tiny_image_data,
        f'train_dataloader = dict(dataset=dict(classes={classes!r}))\n')
    assert f'train_dataloader.dataset has {count} classes ' \
        f"(len(metainfo['classes']) of CustomDataset) " \
        f'{tuple(shown.split())}.' in message, message
