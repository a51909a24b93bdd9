# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A config, video or image given as ``--pretrained`` (or as
``tools/train.py --resume FILE``) is named for what it is as a
command-line error (exit status 2) before anything is read, as a
misplaced CHECKPOINT is.

Before, the tools built the model and ended with ``CheckpointLoadError:
Checkpoint file img.png (3172 bytes) is an image (PNG), not a checkpoint``,
exit status 1 (``tools/infer.py``: as the error of its task in every
input), as if the run had failed.
"""
import cv2
import numpy as np
import pytest
import torch
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG
from tool_modules import load_tool, tool_refusal

from mmadaptformer.apis.infer_cli import parse_infer_args

WHAT = 'an image (PNG), not a checkpoint: the tools take the config first'


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('misplaced_pretrained')
    image = str(root / 'img.png')
    cv2.imwrite(image, np.zeros((32, 32, 3), np.uint8))
    checkpoint = str(root / 'ck.pth')
    torch.save(dict(state_dict={}, meta={}), checkpoint)
    return dict(image=image, checkpoint=checkpoint, root=root)


@pytest.mark.parametrize('tool, flag', [('train.py', '--pretrained'),
                                        ('train.py', '--resume'),
                                        ('test.py', '--pretrained')])
def test_train_and_test(files, tool, flag, capsys):
    work_dir = files['root'] / 'w'
    checkpoint = [files['checkpoint']] if tool == 'test.py' else []
    err = tool_refusal(
        load_tool(tool), [
            TINY_ADAPTFORMER_IMAGE_CONFIG, *checkpoint, flag, files['image'],
            '--work-dir',
            str(work_dir)
        ], capsys)
    assert f'error: {flag} {files["image"]}: it is {WHAT}' in err, err
    assert not work_dir.exists()


def test_infer(files, capsys):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        parse_infer_args([
            TINY_ADAPTFORMER_IMAGE_CONFIG, files['checkpoint'], files['image'],
            '--pretrained', files['image']
        ])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f'error: --pretrained {files["image"]}: it is {WHAT}' in err, err
