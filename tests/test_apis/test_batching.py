# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How many inputs a call forwards at once: a batch size that is no count
is refused before any input is read, and a recognizer that caps its views
per forward (``test_cfg.max_testing_views``) gets one input at a time."""

import pytest
import torch
from adapter_tasks import random_task_checkpoints, val_videos
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     save_stock_video_checkpoint, video_data_cfg, write_config)

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer

NOT_COUNTS = (-1, 0, True, 2.0, '2')


@pytest.fixture(scope='module')
def stock(tmp_path_factory):
    """The tiny video ViT and a full checkpoint of it (random weights)."""
    path = str(tmp_path_factory.mktemp('stock') / 'stock.pth')
    save_stock_video_checkpoint(path)
    return path


def test_a_batch_size_that_is_no_count_is_refused_before_any_input(
        stock, tiny_video_data, tmp_path, clean_loggers):
    """``batch_size=-1`` answered every input with None (the inferencer) or
    nothing (the multi-task engine), ``0`` failed in ``range()``, a bool
    was taken as 1. The inputs here do not exist: they are not read."""
    inferencer = ModelInferencer(TINY_VIDEO_CONFIG, stock, name='m')
    config = write_config(tmp_path / 'a.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint, = random_task_checkpoints(config, 'mmaction', tmp_path, (1, ))
    engine = MultiTaskRecognizer()
    engine.add_task('a', config, checkpoint)
    missing = [str(tmp_path / 'gone1.mp4'), str(tmp_path / 'gone2.mp4')]
    for value in NOT_COUNTS:
        line = (f'batch_size={value!r}: expected an int >= 1, the number of '
                'inputs per forward.')
        for call in (inferencer, engine):
            with pytest.raises(ValueError) as error:
                call(missing, batch_size=value)
            assert str(error.value) == line


def test_max_testing_views_forwards_one_input_at_a_time(
        stock, tiny_video_data, tmp_path, clean_loggers):
    """mmaction2's Recognizer3D takes ``max_testing_views`` with one input
    per forward only (``AssertionError: max_testing_views is only
    compatible with batch_size == 1`` for four): each input is forwarded on
    its own, at most two views per backbone call, with the scores of batch
    size 1 and of the model without the setting."""
    videos = val_videos(tiny_video_data, 4)
    # Six views per video: two clips, three crops.
    pipeline = ('test_dataloader = dict(dataset=dict(pipeline=['
                "dict(type='DecordInit'), dict(type='SampleFrames', "
                'clip_len=4, frame_interval=3, num_clips=2, test_mode=True), '
                "dict(type='DecordDecode'), dict(type='Resize', scale=(-1, "
                "32)), dict(type='ThreeCrop', crop_size=32), dict(type="
                "'FormatShape', input_format='NCTHW'), "
                "dict(type='PackActionInputs')]))\n")
    plain = write_config(tmp_path / 'plain.py', TINY_VIDEO_CONFIG, pipeline)
    capped = write_config(
        tmp_path / 'capped.py', plain,
        'model = dict(test_cfg=dict(max_testing_views=2))\n')
    expected = ModelInferencer(plain, stock, name='m')(videos, batch_size=4)
    inferencer = ModelInferencer(capped, stock, name='m')
    calls = []
    inferencer.model.backbone.register_forward_hook(
        lambda module, args, out: calls.append(args[0].shape[0]))
    got = inferencer(videos, batch_size=4)
    assert calls == [2] * 3 * len(videos)
    assert got == inferencer(videos, batch_size=1)
    for path in videos:
        torch.testing.assert_close(
            torch.tensor(got[path]['m']['scores']),
            torch.tensor(expected[path]['m']['scores']))
