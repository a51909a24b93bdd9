# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Several visualisation backends at once from the command line, as
configs/README.md gives it: ``--cfg-options
"visualizer.vis_backends=[dict(type='LocalVisBackend'),
dict(type='TensorboardVisBackend')]"``.

A guard of kept behaviour (our ``--cfg-options`` read ``dict(...)``
values); the README said this could not be done from the command line.
"""
import glob
import json
import os.path as osp

from config_writers import image_data_cfg, write_config
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_tool

BACKENDS = ("visualizer.vis_backends=[dict(type='LocalVisBackend'),"
            "dict(type='TensorboardVisBackend')]")


def test_two_backends_from_the_command_line(tmp_path, tiny_image_data):
    cfg = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                       image_data_cfg(tiny_image_data))
    work = tmp_path / 'work'
    run_tool(['train.py', cfg, '--work-dir', work, '--cfg-options', BACKENDS],
             cwd=tmp_path)
    scalars = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    events = glob.glob(str(work / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert len(scalars) == 1 and len(events) == 1
    with open(scalars[0]) as f:
        logged = [json.loads(line) for line in f]
    assert any('loss' in record for record in logged)
    assert osp.getsize(events[0]) > 0
