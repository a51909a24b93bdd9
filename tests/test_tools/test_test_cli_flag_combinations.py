# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/test.py flags that MMPretrain's tool takes together but that fail
there only after the test has run or while it runs: ``--out-item metrics``
to a file ``mmengine.dump`` cannot write, and ``--tta`` with
``--show-dir``. Real test runs on real image files, in fresh processes."""
import re

import pytest
from helpers import (TINY_IMAGE_CONFIG, image_data_cfg, run_tool,
                     save_as_built_checkpoint, write_config)
from mmengine.fileio import load
from refusal_lines import refused_line


@pytest.fixture(scope='module')
def image_run(tmp_path_factory, tiny_image_data):
    root = tmp_path_factory.mktemp('test_cli')
    cfg = write_config(root / 'cfg.py', TINY_IMAGE_CONFIG,
                       image_data_cfg(tiny_image_data))
    ckpt = save_as_built_checkpoint(cfg, root / 'ckpt.pth')
    return root, cfg, ckpt


def test_metrics_to_a_format_mmengine_cannot_write_is_refused_first(image_run):
    """``--out metrics.txt --out-item metrics`` tested every image, then
    ended in ``TypeError: Unsupported format: txt`` with nothing written."""
    root, cfg, ckpt = image_run
    work_dir = root / 'txt_work'
    proc = run_tool([
        'test.py', cfg, ckpt, '--work-dir', work_dir, '--out',
        root / 'metrics.txt', '--out-item', 'metrics'
    ],
                    cwd=root,
                    check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "--out '" in proc.stdout and 'metrics.txt' in proc.stdout
    assert '.json, .pickle, .pkl, .yaml, .yml' in proc.stdout
    assert 'Epoch(test)' not in proc.stdout and not work_dir.exists()

    # A format mmengine.dump writes: the metrics, as YAML.
    run_tool([
        'test.py', cfg, ckpt, '--work-dir', work_dir, '--out',
        root / 'metrics.yaml', '--out-item', 'metrics'
    ],
             cwd=root)
    assert set(load(str(root / 'metrics.yaml'))) == {'accuracy/top1'}


def test_show_dir_draws_images_and_refuses_tta_before_testing(image_run):
    """``--tta --show-dir`` failed at the first batch with ``RuntimeError:
    permute(sparse_coo): number of dimensions ...`` (MMPretrain's
    VisualizationHook draws one image per sample; a TTA sample is a list
    of views)."""
    root, cfg, ckpt = image_run
    show_dir = root / 'vis'
    run_tool([
        'test.py', cfg, ckpt, '--work-dir', root / 'show_work', '--show-dir',
        show_dir, '--interval', '2'
    ],
             cwd=root)
    # 8 validation images (0.png to 3.png in each class folder), every
    # second one drawn, each under its class folder (MMPretrain's hook
    # named a drawing by the image's file name alone, so the two classes'
    # drawings of 0.png and 2.png shared one).
    assert sorted(
        p.relative_to(show_dir).as_posix() for p in show_dir.rglob('*')
        if p.is_file()) == [
            'horizontal/0.png_0.png', 'horizontal/2.png_0.png',
            'vertical/0.png_0.png', 'vertical/2.png_0.png'
        ]

    tta_dir = root / 'vis_tta'
    work_dir = root / 'tta_work'
    proc = run_tool([
        'test.py', cfg, ckpt, '--work-dir', work_dir, '--tta', '--show-dir',
        tta_dir
    ],
                    cwd=root,
                    check=False)
    refused_line(proc)
    assert ('ConfigError: --show-dir with --tta: default_hooks.visualization'
            ".type='ImageVisualizationHook' in " + cfg) in proc.stdout
    assert 'Drop --tta' in proc.stdout and 'drop --show-dir' in proc.stdout
    assert not tta_dir.exists() and not work_dir.exists()


def test_cfg_options_name_the_evaluator_also_with_out(image_run):
    """``--out preds.pkl --cfg-options test_evaluator.topk=(1,2)`` works in
    MMPretrain's tool (its DumpResults joins the built evaluator); here the
    dump was added to the config first, so the option met a list:
    ``ConfigError: --cfg-options: TypeError: list indices must be integers
    or slices, not str``."""
    root, cfg, ckpt = image_run
    preds = root / 'topk_preds.pkl'
    proc = run_tool([
        'test.py', cfg, ckpt, '--work-dir', root / 'topk_work', '--out', preds,
        '--cfg-options', 'test_evaluator.topk=(1,2)'
    ],
                    cwd=root)
    assert re.search(
        r'Epoch\(test\) \[2/2\]\s+accuracy/top1: [\d.]+\s+'
        r'accuracy/top2: ', proc.stdout)
    assert len(load(str(preds))) == 8
