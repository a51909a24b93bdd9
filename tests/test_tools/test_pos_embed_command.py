# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The converter command of the ``pos_embed`` refusal runs as printed.

Before, ``tools/train.py --pretrained FILE`` with a file made for another
number of frames was refused with ``python tools/model_converters/
convert_official.py SRC DST --num-frames 4 --img-size 32``: placeholders
the user had to replace. Now the command names the file given and a file
beside it, as the nested-checkpoint refusal names them (``--unwrap-only``),
so it can be copied: run from the repository's root, it writes a file that
``--pretrained`` then trains from.
"""
import os
import re
import shlex
import subprocess
import sys

import torch
from config_writers import TRAIN_ONLY_CFG, video_data_cfg, write_config
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import (REPO_ROOT, TINY_ADAPTFORMER_VIDEO_CONFIG,
                        TINY_VIDEO_CONFIG)
from tool_runners import run_tool

COMMAND = re.compile(r'rebuild the table for this model: (python \S+ .*?) \(')


def test_train_prints_a_converter_command_that_runs_as_printed(
        tmp_path, tiny_video_data):
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG).model
    cfg.backbone.num_frames = 8  # the tiny recipe takes 4
    torch.manual_seed(0)
    frames8 = str(tmp_path / 'frames8.pth')
    torch.save({'state_dict': MODELS.build(cfg).state_dict()}, frames8)
    config = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + TRAIN_ONLY_CFG +
        'train_cfg = dict(max_epochs=1)\n')

    proc = run_tool([
        'train.py', config, '--pretrained', frames8, '--work-dir',
        tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    line = next(line for line in proc.stdout.splitlines()
                if line.startswith('StateDictMismatchError: '))
    assert 'SRC' not in line and 'DST' not in line, line
    command = COMMAND.search(line).group(1)
    converted = str(tmp_path / 'frames8_4frames_32px.pth')
    assert command == ('python tools/model_converters/convert_official.py '
                       f'{frames8} {converted} --num-frames 4 --img-size 32')

    # As a user runs it: in a shell, from the repository's root.
    env = dict(os.environ, OMP_NUM_THREADS='1')
    args = shlex.split(command)
    proc = subprocess.run(
        [sys.executable] + args[1:],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert os.path.isfile(converted)

    proc = run_tool([
        'train.py', config, '--pretrained', converted, '--work-dir',
        tmp_path / 'w2'
    ],
                    cwd=tmp_path)
    assert 'Epoch(train) [1]' in proc.stdout, proc.stdout[-3000:]
