# Copyright (c) mmadaptformer contributors. All rights reserved.
"""VideoVisualizationHook: the first view of multi-view video samples,
drawn with their labels, where mmaction2 1.2's VisualizationHook fails."""
import numpy as np
import pytest
import torch
from mmaction.engine.hooks import VisualizationHook
from mmaction.registry import HOOKS
from mmaction.structures import ActionDataSample
from mmaction.visualization import ActionVisualizer

from mmadaptformer.engine.hooks import VideoVisualizationHook
from mmadaptformer.engine.hooks.video_visualization_hook import \
    first_view_frames


def _views(num_views=6, t=4, size=8):
    """``(views, 3, T, H, W)``: view v, frame t, channel c holds
    ``100 * v + 10 * t + c``."""
    v = torch.arange(num_views).view(-1, 1, 1, 1, 1)
    c = torch.arange(3).view(1, -1, 1, 1, 1)
    f = torch.arange(t).view(1, 1, -1, 1, 1)
    return (100 * v + 10 * f + c).expand(num_views, 3, t, size,
                                         size).to(torch.uint8)


def test_first_view_of_ncthw_and_nchw_samples():
    frames = first_view_frames(_views(), 'NCTHW')
    assert frames.shape == (4, 8, 8, 3) and frames.dtype == np.uint8
    # Frame t of view 0, channels last.
    assert frames[2, 5, 5].tolist() == [20, 21, 22]
    # (views * T, C, H, W): the first clip_len frames.
    nchw = _views(2, 4).permute(0, 2, 1, 3, 4).reshape(8, 3, 8, 8)
    frames = first_view_frames(nchw.float(), 'NCHW', clip_len=4)
    assert frames.shape == (4, 8, 8, 3)
    assert frames[:, 0, 0, 0].tolist() == [0, 10, 20, 30]
    assert first_view_frames(nchw, None).shape[0] == 8
    # Out-of-range floats are clipped, not wrapped.
    clipped = first_view_frames(torch.full((1, 3, 1, 2, 2), 300.), 'NCTHW')
    assert clipped.max() == 255


@pytest.mark.parametrize('video, format_shape, message', [
    (torch.zeros(1, 2, 4, 8, 8), 'NCTHW', '2 channels'),
    (torch.zeros(3, 4, 8, 8), 'NCTHW', 'a NCTHW sample has 5 dimensions'),
    (torch.zeros(3, 8, 8), None, r'got shape \(3, 8, 8\)'),
])
def test_undrawable_samples_are_named(video, format_shape, message):
    with pytest.raises(ValueError, match=message):
        first_view_frames(video, format_shape)


def test_upstream_hook_fails_where_ours_draws(tmp_path):
    ActionVisualizer.get_instance('test_video_vis', save_dir=str(tmp_path))
    sample = ActionDataSample().set_gt_label(1).set_pred_label(0)
    sample.set_pred_score(torch.tensor([0.75, 0.25]))
    batch = dict(inputs=[_views(6, 4, 32)], data_samples=[sample])
    upstream = VisualizationHook(enable=True, interval=1)
    with pytest.raises(RuntimeError, match='number of dimensions'):
        upstream._draw_samples(0, batch, [sample])

    hook = HOOKS.build(
        dict(
            type='VideoVisualizationHook',
            enable=True,
            interval=1,
            out_dir=str(tmp_path / 'vis')))
    assert isinstance(hook, VideoVisualizationHook)
    hook._draw_samples(0, batch, [sample], step=3)
    folder = tmp_path / 'vis' / '0_3' / 'frames_3'
    assert sorted(p.name for p in folder.iterdir()) == \
        ['0.png', '1.png', '2.png', '3.png']
    assert hook._text(sample) == 'pred: 0, 0.75\ntrue: 1'


@pytest.mark.parametrize('kwargs, message', [
    (dict(interval=0), 'interval must be a positive int, got 0'),
    (dict(out_type='avi'), "out_type must be one of .* got 'avi'"),
    (dict(fps=0), 'fps must be a positive int, got 0'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VideoVisualizationHook(**kwargs)


def test_an_nchw_view_is_the_first_crop_of_every_clip(tmp_path):
    """A TSN-style test (25 clips of 1 frame x 10 crops, packed NCHW as 250
    frames) was drawn as 250 PNGs per video: PackActionInputs packs no
    clip_len. The first crop's 25 frames come first and are drawn."""
    from mmaction.datasets import VideoDataset
    from mmengine.dataset import RepeatDataset
    from mmengine.registry import init_default_scope

    from mmadaptformer.engine.hooks.video_visualization_hook import \
        nchw_view_frames
    init_default_scope('mmaction')
    ann_file = tmp_path / 'list.txt'
    ann_file.write_text('a.mp4 0\n')
    pipeline = [
        dict(type='DecordInit'),
        dict(
            type='SampleFrames',
            clip_len=1,
            frame_interval=1,
            num_clips=25,
            test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 256)),
        dict(type='TenCrop', crop_size=224),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs')
    ]
    dataset = VideoDataset(
        ann_file=str(ann_file), pipeline=pipeline, lazy_init=True)
    assert nchw_view_frames(dataset) == 25
    assert nchw_view_frames(RepeatDataset(dataset, times=2)) == 25
    # 250 packed frames of 10 crops: the first 25 are the first crop's.
    packed = torch.arange(250).view(250, 1, 1, 1).expand(250, 3, 4, 4)
    frames = first_view_frames(packed, 'NCHW', nchw_view_frames(dataset))
    assert frames[:, 0, 0, 0].tolist() == list(range(25))
    # No frame sampler: every frame is drawn.
    assert nchw_view_frames(
        VideoDataset(
            ann_file=str(ann_file),
            pipeline=[dict(type='PackActionInputs')],
            lazy_init=True)) is None
    assert nchw_view_frames(None) is None
