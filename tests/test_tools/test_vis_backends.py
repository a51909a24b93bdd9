# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's visualisation backends switched on from the command line:
``--cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend``
(video configs' ActionVisualizer, image configs' UniversalVisualizer)."""
import glob
import json
import math
import os.path as osp
import time

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     load_tool, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.registry import init_default_scope

train_tool = load_tool('train.py')


def _read_scalars(event_dir):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    files = glob.glob(
        osp.join(event_dir, '**', 'events.out.tfevents.*'), recursive=True)
    assert files, f'no TensorBoard event file under {event_dir}'
    events = EventAccumulator(osp.dirname(files[0]))
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)]
        for tag in events.Tags()['scalars']
    }


def test_video_training_logs_to_tensorboard(tmp_path, tiny_video_data):
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    work = tmp_path / 'work'
    # AdaptFormer trains on a frozen backbone loaded from a checkpoint.
    backbone = str(tmp_path / 'backbone.pth')
    save_stock_video_checkpoint(backbone)
    run_tool([
        'train.py', cfg, '--work-dir', work, '--pretrained', backbone,
        '--cfg-options', 'visualizer.vis_backends.0.type=TensorboardVisBackend'
    ],
             cwd=tmp_path)
    scalars = _read_scalars(str(work))
    # 8 training videos, batch 4, 2 epochs: a loss at each of 4 iterations,
    # and the validation top-1 after each epoch.
    assert [step for step, _ in scalars['loss']] == [1, 2, 3, 4]
    assert all(math.isfinite(v) for _, v in scalars['loss'])
    assert [step for step, _ in scalars['acc/top1']] == [1, 2]
    assert all(0. <= v <= 1. for _, v in scalars['acc/top1'])
    assert 'lr' in scalars


def test_image_visualizer_writes_tensorboard_scalars(tmp_path):
    args = train_tool.parse_args([
        TINY_IMAGE_CONFIG, '--cfg-options',
        'visualizer.vis_backends.0.type=TensorboardVisBackend'
    ])
    cfg = train_tool.merge_args(Config.fromfile(TINY_IMAGE_CONFIG), args)
    assert cfg.visualizer.type == 'UniversalVisualizer'
    init_default_scope('mmpretrain')
    from mmpretrain.registry import VISUALIZERS
    visualizer = VISUALIZERS.build(
        dict(cfg.visualizer, name='tb_test', save_dir=str(tmp_path)))
    for step in range(3):
        visualizer.add_scalars({'accuracy/top1': 50. + step}, step=step)
    visualizer.close()
    assert _read_scalars(str(tmp_path))['accuracy/top1'] == [(0, 50.),
                                                             (1, 51.),
                                                             (2, 52.)]


def test_top_level_vis_backends_option_is_refused_naming_the_visualizer():
    """``--cfg-options vis_backends.0.type=...`` set the top-level variable,
    which nothing reads: training went on with ``LocalVisBackend`` only."""
    from mmadaptformer.utils import ConfigError
    args = train_tool.parse_args([
        TINY_IMAGE_CONFIG, '--cfg-options',
        'vis_backends.0.type=TensorboardVisBackend'
    ])
    with pytest.raises(
            ConfigError,
            match=r'Set those keys instead: '
            r'--cfg-options visualizer\.vis_backends\.0\.type='
            r'TensorboardVisBackend$'):
        train_tool.merge_args(Config.fromfile(TINY_IMAGE_CONFIG), args)


def _wandb_history(run_file):
    """The logged rows of an offline W&B run file (a LevelDB-style log of
    ``wandb_internal_pb2.Record`` protobufs: a 7-byte file header, 32 KiB
    blocks, records of crc32, length, type)."""
    import struct

    from wandb.proto import wandb_internal_pb2
    data = open(run_file, 'rb').read()
    pos, chunks, rows = 7, [], []
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        _, length, kind = struct.unpack('<IHB', data[pos:pos + 7])
        if left < 7 or (kind == 0 and length == 0):
            pos += left
            continue
        chunks.append(data[pos + 7:pos + 7 + length])
        pos += 7 + length
        if kind in (1, 4):  # a full record, or the last part of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b''.join(chunks))
            chunks = []
            if record.WhichOneof('record_type') == 'history':
                rows.append({(i.key or '/'.join(i.nested_key)):
                             json.loads(i.value_json)
                             for i in record.history.item})
    return rows


def test_video_visualizer_writes_wandb_offline(tmp_path, monkeypatch):
    """WandbVisBackend in offline mode (no server): the values land in the
    run file. wandb is not a requirement; install it to use this backend."""
    pytest.importorskip('wandb')
    monkeypatch.setenv('WANDB_MODE', 'offline')
    monkeypatch.setenv('WANDB_SILENT', 'true')
    monkeypatch.setenv('WANDB_DIR', str(tmp_path))
    args = train_tool.parse_args([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--cfg-options',
        'visualizer.vis_backends.0.type=WandbVisBackend'
    ])
    cfg = train_tool.merge_args(
        Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG), args)
    assert cfg.visualizer.type == 'ActionVisualizer'
    init_default_scope('mmaction')
    from mmaction.registry import VISUALIZERS
    visualizer = VISUALIZERS.build(
        dict(cfg.visualizer, name='wandb_test', save_dir=str(tmp_path)))
    for step in range(3):
        visualizer.add_scalars({'loss': 1. / (step + 1)}, step=step)
    visualizer.close()
    runs = glob.glob(
        str(tmp_path / '**' / 'offline-run-*' / 'run-*.wandb'), recursive=True)
    assert len(runs) == 1
    # wandb's service process may still be writing the file after close()
    # returns (seen under a loaded CI machine): wait for the rows, bounded.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(_wandb_history(runs[0])) >= 3:
                break
        except Exception:  # a record still being written; read it again
            pass
        time.sleep(0.2)
    rows = _wandb_history(runs[0])
    assert [row['loss'] for row in rows] == [1., 0.5, pytest.approx(1 / 3)]
