# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every pipeline of a dataloader is found and built up front, wrapped and
concatenated datasets included; what cannot be built is named."""
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.pipelines import (build_transforms, check_pipelines,
                                           dataloader_pipelines,
                                           dropped_arguments)


def _config(**loaders):
    return Config(dict(default_scope='mmpretrain', **loaders))


def test_the_pipelines_of_wrapped_and_concatenated_datasets_are_found():
    load = dict(type='LoadImageFromFile')
    cfg = _config(
        train_dataloader=dict(
            dataset=dict(
                type='ConcatDataset',
                datasets=[
                    dict(type='CustomDataset', pipeline=[load]),
                    dict(
                        type='RepeatDataset',
                        times=2,
                        dataset=dict(type='CustomDataset', pipeline=[load])),
                ])),
        val_dataloader=None)
    assert [key
            for key, _ in dataloader_pipelines(cfg, 'train_dataloader')] == [
                'train_dataloader.dataset.datasets[0].pipeline',
                'train_dataloader.dataset.datasets[1].dataset.pipeline'
            ]
    assert list(dataloader_pipelines(cfg, 'val_dataloader')) == []
    assert list(dataloader_pipelines(cfg, 'test_dataloader')) == []
    check_pipelines(cfg, 'c.py', ['train_dataloader', 'val_dataloader'])
    cfg.train_dataloader.dataset.datasets[1].dataset.pipeline.append(
        dict(type='RandomFlip', prob=0.5, bogus=1))
    with pytest.raises(
            ConfigError,
            match=r'^c\.py: train_dataloader\.dataset\.datasets\[1\]\.dataset'
            r'\.pipeline\[1\] \(RandomFlip\) cannot be built: TypeError: '):
        check_pipelines(cfg, 'c.py', ['train_dataloader'])
    # Only the loaders asked for are built.
    check_pipelines(cfg, 'c.py', ['val_dataloader'])


def test_a_type_no_registry_holds_names_the_closest():
    cfg = _config(
        test_dataloader=dict(
            dataset=dict(pipeline=[dict(type='LoadImageFromFlie')])))
    with pytest.raises(ConfigError) as error:
        check_pipelines(cfg, 'c.py', ['test_dataloader'])
    assert str(error.value).startswith(
        "c.py: test_dataloader.dataset.pipeline[0].type='LoadImageFromFlie' "
        'is not in the mmpretrain::transform registry; did you mean '
        "'LoadImageFromFile'")


def test_an_argument_sample_frames_would_drop_is_named():
    """The premise: mmaction2's SampleFrames takes ``num_clip`` and samples
    one clip; the pipeline check names it, with the option that set it."""
    from mmaction.datasets.transforms import SampleFrames
    assert SampleFrames(clip_len=4, num_clip=2).num_clips == 1
    cfg = Config(dict(default_scope='mmaction'))
    # build_transforms builds in the current scope, which tools set.
    init_default_scope('mmaction')
    pipeline = [
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=4, num_clip=2, test_mode=True)
    ]
    with pytest.raises(ConfigError) as error:
        build_transforms(pipeline, 'test_dataloader.dataset.pipeline', cfg,
                         'c.py',
                         {'test_dataloader.dataset.pipeline.1.'
                          'num_clip': 2})
    assert str(error.value) == (
        '--cfg-options test_dataloader.dataset.pipeline.1.num_clip=2: '
        "SampleFrames takes no argument 'num_clip' (did you mean "
        "'num_clips'?); mmaction2's SampleFrames accepts and drops "
        'arguments it does not know, so it would sample as if it were not '
        'there. It takes: clip_len, frame_interval, num_clips, '
        'temporal_jitter, twice_sample, out_of_bound_opt, test_mode, '
        'keep_tail_frames, target_fps.')
    pipeline[1] = dict(type='SampleFrames', clip_len=4, num_clips=2)
    assert build_transforms(pipeline, 'k', cfg, 'c.py')[1].num_clips == 2


def test_only_transforms_that_drop_arguments_are_read():
    """DenseSampleFrames passes its ``**kwargs`` on to SampleFrames; a
    user's subclass may use its own, and other transforms refuse theirs."""
    from mmaction.datasets.transforms import DenseSampleFrames, SampleFrames
    dense = dict(type='DenseSampleFrames', clip_len=4, sample_rang=32)
    dropped, takes = dropped_arguments(dense, DenseSampleFrames(clip_len=4))
    assert dropped == ['sample_rang']
    assert takes[:2] == ['sample_range', 'num_sample_positions']
    assert 'num_clips' in takes

    class MyFrames(SampleFrames):

        def __init__(self, clip_len, **kwargs):
            super().__init__(clip_len)
            self.stride = kwargs.get('stride', 1)

    assert dropped_arguments(
        dict(type='MyFrames', clip_len=4, stride=2),
        MyFrames(clip_len=4, stride=2)) == ([], [])
    from mmaction.datasets.transforms import DecordInit
    assert dropped_arguments(dict(type='DecordInit'), DecordInit()) == ([], [])


def test_an_argument_the_local_file_client_would_refuse_is_named(
        tiny_video_data):
    """The premise: mmaction2's DecordInit builds with ``num_thread=2`` and
    fails at the first video it reads, where it makes its file client; the
    pipeline check names it before anything is read. Another backend takes
    its own arguments and is not read."""
    import glob
    import os.path as osp

    from mmaction.datasets.transforms import DecordInit
    video = sorted(glob.glob(osp.join(tiny_video_data['videos'], '*')))[0]
    with pytest.raises(TypeError, match='num_thread'):
        DecordInit(num_thread=2).transform(dict(filename=video))
    assert DecordInit(num_threads=2).transform(
        dict(filename=video))['total_frames'] > 0
    init_default_scope('mmaction')
    cfg = Config(dict(default_scope='mmaction'))
    with pytest.raises(ConfigError) as error:
        build_transforms([dict(type='DecordInit', num_thread=2)],
                         'val_dataloader.dataset.pipeline', cfg, 'c.py')
    assert str(error.value) == (
        'c.py: val_dataloader.dataset.pipeline[0].num_thread: DecordInit '
        "takes no argument 'num_thread' (did you mean 'num_threads'?); "
        "mmaction2's DecordInit passes arguments it does not know to its "
        "file client, and the local one (io_backend='disk') takes none, so "
        'the first file read would fail with a TypeError. It takes: '
        'io_backend, num_threads.')
    built = build_transforms([
        dict(type='DecordInit', num_threads=2),
        dict(type='DecordInit', io_backend='petrel', path_mapping={}),
        dict(type='RawFrameDecode', io_backend='disk'),
    ], 'test_pipeline', cfg, 'c.py')
    assert [type(t).__name__
            for t in built] == ['DecordInit', 'DecordInit', 'RawFrameDecode']
