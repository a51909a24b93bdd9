# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An output over a file that a config names with ``~`` (which its reader
expands: mmpretrain's datasets, the checkpoint loaders) is refused, as the
tools run from a shell that expands ``--out ~/...``. Both runs below wrote
over the user's file."""
import glob
import hashlib
import os
import os.path as osp

import torch
from adapter_tasks import random_task_checkpoints
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import image_data_cfg, pretrained_cfg, write_config
from refusal_lines import usage_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG
from tool_runners import run_tool


def _digest(path) -> str:
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def test_infer_out_over_a_home_classes_file_is_refused(tiny_image_data,
                                                       tmp_path):
    """``classes='~/names.txt'`` of an mmpretrain ``CustomDataset`` is the
    home file; ``infer.py ... --out ~/names.txt`` replaced it with the
    results' JSON."""
    home = tmp_path / 'home'
    home.mkdir()
    names = home / 'names.txt'
    names.write_text('horizontal\nvertical\n')
    checkpoint = str(tmp_path / 'full.pth')
    save_stock_image_checkpoint(checkpoint)
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "test_dataloader = dict(dataset=dict(classes='~/names.txt'))\n")
    image = sorted(glob.glob(osp.join(tiny_image_data, 'val', '*', '*')))[0]
    proc = run_tool(['infer.py', config, checkpoint, image, '--out', names],
                    cwd=tmp_path,
                    env=dict(HOME=str(home)),
                    check=False)
    assert usage_line(proc) == (
        f'infer.py: error: --out {names} is test_dataloader.dataset.classes '
        f'of the config {config}; it would be overwritten. Give another '
        'file.')
    assert names.read_text() == 'horizontal\nvertical\n'


def test_extract_out_over_a_home_backbone_is_refused(tmp_path):
    """A config whose backbone is ``~/stock.pth``: extract_adapters.py said
    that file "is not there", compared nothing, and wrote the adapters over
    it. Now it is the pretrained backbone compared with, and a run to
    another file compares with it (no note that nothing was compared)."""
    home = tmp_path / 'home'
    home.mkdir()
    full = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction',
                                   str(tmp_path), (1, ))[0]
    # Its own backbone without the adapters: the frozen tensors compare
    # equal.
    state = torch.load(full, weights_only=True)['state_dict']
    stock = str(home / 'stock.pth')
    torch.save(
        dict(
            state_dict={
                k: v
                for k, v in state.items()
                if k.startswith('backbone.') and '.adaptmlp.' not in k
            }), stock)
    before = _digest(stock)
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          pretrained_cfg('~/stock.pth'))
    env = dict(HOME=str(home))
    proc = run_tool(
        ['model_converters/extract_adapters.py', config, full, stock],
        cwd=tmp_path,
        env=env,
        check=False)
    assert usage_line(proc) == (
        f'extract_adapters.py: error: out {stock} is the same file as the '
        f'pretrained backbone {stock}: writing it would replace the '
        'pretrained backbone. Give another file.')
    assert _digest(stock) == before
    out = str(tmp_path / 'adapters.pth')
    proc = run_tool(
        ['model_converters/extract_adapters.py', config, full, out],
        cwd=tmp_path,
        env=env)
    assert 'not compared' not in proc.stdout, proc.stdout
    assert os.path.isfile(out)
