# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A dataloader's ``collate_fn`` that does not fit its dataset's samples
(a stock MViT recipe's ``repeat_pseudo_collate`` kept after its
``RepeatAugDataset`` was replaced) is refused before the work dir, naming
the dataloader, the collate function and the dataset's type."""
import os.path as osp

import pytest
from helpers import TOOLS  # noqa: F401  (puts the repository on sys.path)
from mmengine.config import Config
from tool_runners import run_tool

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.collate_check import check_collate_fn

STOCK_MVIT = ('mmaction::recognition/mvit/'
              'mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb.py')

#: The stock recipe shrunk to a CPU: a tiny MViT on 4 x 64 x 64 clips.
MVIT_CONFIG = '''
_base_ = '{stock}'
custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)
model = dict(
    backbone=dict(arch='tiny', spatial_size=64, temporal_size=4,
                  drop_path_rate=0.0),
    cls_head=dict(num_classes=2),
    data_preprocessor=dict(blending=None))
pipe = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='{dataset}', ann_file='{train}',
                 data_prefix=dict(video='{videos}'), pipeline=pipe))
val_cfg = None
val_dataloader = None
val_evaluator = None
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = []
auto_scale_lr = dict(enable=False)
'''


def _config(tmp_path, data, dataset='VideoDataset'):
    path = tmp_path / 'mvit_tiny.py'
    path.write_text(
        MVIT_CONFIG.format(
            stock=STOCK_MVIT,
            dataset=dataset,
            train=data['train'],
            videos=data['videos']))
    return str(path)


def _check(path, options=None):
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    check_collate_fn(cfg, path, ['train_dataloader'], options)


def test_repeat_collate_on_a_video_dataset_is_refused(tmp_path,
                                                      tiny_video_data):
    """Trained, it failed at the first step: ``TypeError: string indices
    must be integers, not 'str'`` in mmaction's data preprocessor."""
    path = _config(tmp_path, tiny_video_data)
    with pytest.raises(ConfigError) as info:
        _check(path)
    message = str(info.value)
    assert message.startswith(f'{path}: train_dataloader.collate_fn: '
                              'repeat_pseudo_collate ')
    assert 'train_dataloader.dataset is a VideoDataset' in message
    assert "train_dataloader.collate_fn=dict(type='pseudo_collate')" \
        in message
    assert "'RepeatAugDataset'" in message


def test_repeat_collate_on_a_wrapped_video_dataset_is_refused(
        tmp_path, tiny_video_data):
    path = _config(tmp_path, tiny_video_data)
    cfg = Config.fromfile(path)
    inner = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset', times=2, dataset=inner)
    with pytest.raises(
            ConfigError,
            match=r'train_dataloader\.dataset\.'
            r'dataset is a VideoDataset'):
        check_collate_fn(cfg, path, ['train_dataloader'])


@pytest.mark.parametrize('collate', [None, 'pseudo_collate'])
def test_repeat_dataset_with_a_dict_collate_is_refused(tmp_path,
                                                       tiny_video_data,
                                                       collate):
    """Trained, it failed at the first step: ``AttributeError: 'dict'
    object has no attribute 'shape'`` in the recognizer."""
    path = _config(tmp_path, tiny_video_data, dataset='RepeatAugDataset')
    cfg = Config.fromfile(path)
    if collate is None:
        del cfg.train_dataloader['collate_fn']
    else:
        cfg.train_dataloader.collate_fn = dict(type=collate)
    with pytest.raises(ConfigError) as info:
        check_collate_fn(cfg, path, ['train_dataloader'])
    message = str(info.value)
    shown = 'pseudo_collate' if collate else \
        "unset (MMEngine's pseudo_collate)"
    assert message.startswith(f'{path}: train_dataloader.collate_fn: '
                              f'{shown} batches one dict per sample')
    assert 'train_dataloader.dataset is a RepeatAugDataset' in message
    assert "collate_fn=dict(type='repeat_pseudo_collate')" in message


def test_kept_behaviour_pairs_that_fit_are_not_refused(tmp_path,
                                                       tiny_video_data):
    """Kept behaviour: the recipe's pair, the fixed pair, and a collate
    function or dataset of the user's own pass."""
    _check(_config(tmp_path, tiny_video_data, dataset='RepeatAugDataset'))
    path = _config(tmp_path, tiny_video_data)
    _check(path, {'train_dataloader.collate_fn.type': 'pseudo_collate'})
    cfg = Config.fromfile(path)
    cfg.train_dataloader.collate_fn = lambda batch: batch
    check_collate_fn(cfg, path, ['train_dataloader'])
    # A RepeatAugDataset with a collate function of the user's own.
    cfg = Config.fromfile(
        _config(tmp_path, tiny_video_data, dataset='RepeatAugDataset'))
    cfg.train_dataloader.collate_fn = lambda batch: batch
    check_collate_fn(cfg, path, ['train_dataloader'])


def test_train_py_refuses_before_the_work_dir(tmp_path, tiny_video_data):
    path = _config(tmp_path, tiny_video_data)
    proc = run_tool(['train.py', path, '--work-dir', 'w'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    last = proc.stdout.rstrip().splitlines()[-1]
    assert last.startswith('ConfigError: ') and \
        'repeat_pseudo_collate' in last, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout
    assert not osp.exists(tmp_path / 'w')


def test_repeat_collate_on_our_checked_video_dataset_is_refused(
        tmp_path, tiny_video_data):
    """``CheckedVideoDataset`` (the dataset of our video bases) checks each
    sample in its own ``prepare_data``, so the rule "MMEngine's
    prepare_data gives one dict" let it through, though it gives one dict
    per video as ``VideoDataset`` does."""
    path = _config(tmp_path, tiny_video_data, dataset='CheckedVideoDataset')
    with pytest.raises(ConfigError) as info:
        _check(path)
    assert 'train_dataloader.dataset is a CheckedVideoDataset' in str(
        info.value)
