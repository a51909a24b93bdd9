# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check's stock checkpoints are written without MMEngine's
per-tensor init report on the console."""
import os
import subprocess
import sys

PROBE = """
import sys
import mmadaptformer  # noqa: F401
from mmadaptformer.benchmark.gpu_check.workspace import (
    TINY_CONFIGS, save_stock_checkpoint)
save_stock_checkpoint(TINY_CONFIGS['video_stock'], sys.argv[1])
save_stock_checkpoint(TINY_CONFIGS['image_stock'], sys.argv[2])
print('written')
"""


def test_stock_checkpoints_are_written_quietly(tmp_path):
    """``tools/gpu_check.sh --device cpu`` printed about 250 lines of
    ``backbone.... - torch.Size([...]): The value is the same before and
    after calling `init_weights` of Recognizer3D`` (and ImageClassifier)
    before its first check: every check's output is in its log file."""
    proc = subprocess.run([
        sys.executable, '-c', PROBE,
        str(tmp_path / 'video.pth'),
        str(tmp_path / 'image.pth')
    ],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE,
                          text=True,
                          env=dict(os.environ),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == 'written\n', proc.stdout[:2000]
    assert 'init_weights' not in proc.stderr
    assert (tmp_path / 'video.pth').stat().st_size > 0
