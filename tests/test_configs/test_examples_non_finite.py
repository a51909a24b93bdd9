# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The README's "Writing your own config" diff (``configs/examples``) stops
a run at its first non-finite loss, as the recipes do.

A stock config wrapped by the diff (mmpretrain's SwinV2 at a window size
whose relative-coordinate table divides by zero) trained a whole epoch at
``loss: nan``, exited 0 and saved NaN adapters; only tools/infer.py told
that the scores were NaN. The diff now carries the recipes'
``NonFiniteLossHook`` too.
"""
import re

from helpers import REPO_ROOT, run_tool
from mmengine.config import Config
from test_examples import (IMAGE, VIDEO, _data_options, _size_options,
                           _write_pretrained, imagenet_layout)

HOOK = dict(type='NonFiniteLossHook')


def _readme_diff() -> str:
    with open(f'{REPO_ROOT}/README.md', encoding='utf-8') as f:
        text = f.read()
    section = text.split('## Writing your own config', 1)[1]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_the_diff_and_the_examples_carry_the_hook():
    assert "non_finite_loss=dict(type='NonFiniteLossHook')" in _readme_diff()
    for example in (IMAGE, VIDEO):
        assert Config.fromfile(example).default_hooks.non_finite_loss == HOOK


def test_a_run_of_the_diff_stops_at_a_non_finite_loss(tmp_path,
                                                      tiny_image_data):
    data = imagenet_layout(tiny_image_data, tmp_path / 'imagenet')
    pretrained = str(tmp_path / 'pretrained.pth')
    _write_pretrained(IMAGE, pretrained)
    work = tmp_path / 'work'
    # A NaN loss weight: the first step's loss is NaN.
    proc = run_tool(
        [
            'train.py', IMAGE, '--work-dir', work, '--pretrained', pretrained,
            '--cfg-options', 'train_cfg.max_epochs=1',
            'model.head.loss.loss_weight=nan'
        ] + _size_options(IMAGE) + _data_options(IMAGE, data),
        cwd=tmp_path,
        timeout=600,
        check=False)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert re.search(r'NonFiniteLossError: Non-finite loss at iteration \d',
                     proc.stdout), proc.stdout[-3000:]
    assert not (work / 'epoch_1.pth').exists()
