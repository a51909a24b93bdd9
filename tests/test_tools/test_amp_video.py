# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Mixed precision testing and validation of a video model on the CPU:
the autocast dtype there is bfloat16, which mmaction2's AccMetric (numpy)
refuses, so the heads give the metrics float32 scores."""
import pickle
import re

import torch
from helpers import TINY_VIDEO_CONFIG, run_tool, video_data_cfg, write_config


def _scores(path):
    with open(path, 'rb') as f:
        return [pred['pred_score'] for pred in pickle.load(f)]


def test_amp_test_and_fp16_validation_of_a_video_model(tmp_path,
                                                       tiny_video_data):
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    work_dir = tmp_path / 'work'
    # Validation under autocast (val_cfg.fp16), without --amp training.
    proc = run_tool([
        'train.py', cfg, '--work-dir', work_dir, '--seed', '0',
        '--cfg-options', 'train_cfg.max_epochs=1', 'val_cfg.fp16=True'
    ],
                    cwd=tmp_path)
    assert re.search(r'Epoch\(val\) \[1\]\[2/2\]\s+acc/top1: ', proc.stdout)

    # tools/test.py --amp (test_cfg.fp16) against the float32 test.
    ckpt = work_dir / 'epoch_1.pth'
    results = {}
    for name, flags in (('fp32', []), ('amp', ['--amp'])):
        dump = tmp_path / f'{name}.pkl'
        proc = run_tool(
            [
                'test.py', cfg, ckpt, '--work-dir', tmp_path / name, '--dump',
                dump
            ] + flags,
            cwd=tmp_path)
        results[name] = (re.search(r'Epoch\(test\) \[8/8\]\s+(acc/top1: .*)',
                                   proc.stdout), _scores(dump))
    (fp32_line, fp32), (amp_line, amp) = results['fp32'], results['amp']
    assert fp32_line and amp_line
    assert len(amp) == len(fp32) == 8
    assert all(score.dtype == torch.float32 for score in amp)
    amp, fp32 = torch.stack(amp), torch.stack(fp32)
    # bfloat16 keeps 8 bits of mantissa: probabilities within 1e-2.
    torch.testing.assert_close(amp, fp32, atol=1e-2, rtol=0)
    assert not torch.equal(amp, fp32), 'the --amp test ran in float32'
