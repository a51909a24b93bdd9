# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The training run's config copy in the work dir survives later runs in the
same work dir: a refused test, a refused resume, a test from the copy
itself. It records ``--pretrained``, which adapter-only checkpoints need."""
import json

from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmengine.config import Config
from refusal_lines import refused_line


def _backbone_checkpoint(path):
    init_cfg = Config.fromfile(path).model.backbone.backbone.init_cfg
    return init_cfg and init_cfg.get('checkpoint')


def test_later_runs_keep_the_training_config_copy(tmp_path, tiny_video_data):
    pretrained = tmp_path / 'stock.pth'
    save_stock_video_checkpoint(str(pretrained), seed=5)
    cfg = write_config(tmp_path / 'tiny_ad.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    # The default work dir, work_dirs/tiny_ad, as a user's run gets it.
    run_tool([
        'train.py', cfg, '--pretrained', pretrained, '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path)
    work = tmp_path / 'work_dirs' / 'tiny_ad'
    copy, ckpt = work / 'tiny_ad.py', work / 'epoch_1.pth'
    trained = copy.read_bytes()
    assert _backbone_checkpoint(copy) == str(pretrained)

    # A test without --pretrained is refused (the frozen backbone would be
    # random), and leaves the training run's copy as it was.
    proc = run_tool(['test.py', cfg, ckpt], cwd=tmp_path, check=False)
    # One line that names the flag, not a traceback through the Runner.
    refused_line(proc)
    assert 'FrozenBackboneMismatchError' in proc.stdout
    assert f'On the command line: --pretrained {pretrained} ' in proc.stdout
    assert copy.read_bytes() == trained
    # Its own config is kept next to its log.
    test_copies = [
        p for p in work.glob('*/tiny_ad.py') if _backbone_checkpoint(p) is None
    ]
    assert len(test_copies) == 1
    assert Config.fromfile(test_copies[0]).load_from == str(ckpt)

    # So is a resume without the --pretrained it trained with.
    proc = run_tool([
        'train.py', cfg, '--resume', '--cfg-options', 'train_cfg.max_epochs=2'
    ],
                    cwd=tmp_path,
                    check=False)
    refused_line(proc)
    assert 'FrozenBackboneMismatchError' in proc.stdout
    assert not (work / 'epoch_2.pth').exists()
    assert copy.read_bytes() == trained

    # The copy still tests the checkpoint, and testing from it (its
    # work_dir is the training run's) does not rewrite it either.
    metrics = tmp_path / 'metrics.json'
    run_tool(
        ['test.py', copy, ckpt, '--out', metrics, '--out-item', 'metrics'],
        cwd=tmp_path)
    assert 0.0 <= json.loads(metrics.read_text())['acc/top1'] <= 1.0
    assert copy.read_bytes() == trained

    # A resumed run's copy records resume=True: testing from it tests the
    # checkpoint given, it does not resume (an adapter-only optimizer state
    # loaded into a new optimizer failed with a traceback).
    run_tool([
        'train.py', cfg, '--resume', '--pretrained', pretrained,
        '--cfg-options', 'train_cfg.max_epochs=2'
    ],
             cwd=tmp_path)
    assert Config.fromfile(copy).resume is True
    proc = run_tool(['test.py', copy, ckpt], cwd=tmp_path)
    assert 'resumed epoch' not in proc.stdout
    assert f'Load checkpoint from {ckpt}' in proc.stdout, proc.stdout[-2000:]
    assert 'acc/top1' in proc.stdout
