# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``~`` that the shell left (quoted, or after ``--option=``) in the paths
of ``tools/train.py``, ``tools/test.py`` and ``tools/infer.py``.

The checkpoints (CHECKPOINT, ``--pretrained``, ``--resume FILE``,
``load_from``) were refused as "no such file" although MMEngine's
``CheckpointLoader`` expands ``~``; the outputs (``--dump``, ``--out``,
``--show-dir``, ``--work-dir``) were written into a folder named ``~`` in
the working directory. Both are now expanded, as the converters expand
them; configs and inputs are still read as written."""
import os
import pickle

import torch
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import video_data_cfg, write_config
from refusal_lines import usage_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from tool_runners import run_tool


def _setup(tmp_path, data, base=TINY_VIDEO_CONFIG, body=''):
    """A home with a full checkpoint of the tiny video model, an empty
    working folder and a config on ``data``."""
    home = tmp_path / 'home'
    home.mkdir()
    work = tmp_path / 'work'
    work.mkdir()
    save_stock_video_checkpoint(str(home / 'ckpt.pth'))
    config = write_config(tmp_path / 'cfg.py', base,
                          video_data_cfg(data) + body)
    return home, work, config, {'HOME': str(home)}


def test_test_py_reads_and_writes_home_paths(tmp_path, tiny_video_data):
    home, work, config, env = _setup(tmp_path, tiny_video_data)
    run_tool([
        'test.py', config, '~/ckpt.pth', '--dump', '~/preds.pkl',
        '--out=~/metrics.json', '--out-item', 'metrics', '--work-dir=~/wd',
        '--show-dir', '~/vis'
    ],
             work,
             env=env)
    with open(tiny_video_data['val']) as f:
        videos = len(f.read().split())
    with open(home / 'preds.pkl', 'rb') as f:
        assert len(pickle.load(f)) * 2 == videos  # `name label` lines
    assert (home / 'metrics.json').is_file()
    assert (home / 'vis').is_dir() and os.listdir(home / 'vis')
    assert (home / 'wd').is_dir()
    assert os.listdir(work) == []  # no folder named '~'


def test_test_py_dump_over_a_home_checkpoint_is_refused(
        tmp_path, tiny_video_data):
    home, work, config, env = _setup(tmp_path, tiny_video_data)
    os.rename(home / 'ckpt.pth', home / 'ckpt.pkl')
    before = (home / 'ckpt.pkl').read_bytes()
    proc = run_tool(['test.py', config, '~/ckpt.pkl', '--dump', '~/ckpt.pkl'],
                    work,
                    env=env,
                    check=False)
    assert usage_line(proc) == (
        f'test.py: error: --dump {home / "ckpt.pkl"} is the same file as '
        f'the checkpoint {home / "ckpt.pkl"}: writing it would replace the '
        'checkpoint. Give another file.')
    assert (home / 'ckpt.pkl').read_bytes() == before
    assert os.listdir(work) == []


def test_infer_py_reads_and_writes_home_paths(tmp_path, tiny_video_data):
    home, work, config, env = _setup(tmp_path, tiny_video_data)
    video = os.path.join(tiny_video_data['videos'], 'val_0_0.mp4')
    proc = run_tool([
        'infer.py', config, '~/ckpt.pth', video, '--out', '~/r.json',
        '--show-dir=~/vis'
    ],
                    work,
                    env=env)
    assert f'written to {home / "r.json"}' in proc.stdout
    assert os.listdir(home / 'vis') == ['val_0_0.mp4']
    assert os.listdir(work) == []
    proc = run_tool([
        'infer.py', '--task', 'a', config, '~/ckpt.pth', video, '--out',
        '~/ckpt.pth'
    ],
                    work,
                    env=env,
                    check=False)
    assert usage_line(proc) == (
        f'infer.py: error: --out {home / "ckpt.pth"} is the same file as the '
        f'checkpoint {home / "ckpt.pth"}: writing it would replace the '
        'checkpoint. Give another file.')


def test_infer_py_config_with_tilde_is_still_named(tmp_path, tiny_video_data):
    """Guards kept behaviour: a config is read as written
    (``Config.fromfile`` does not expand ``~``)."""
    home, work, config, env = _setup(tmp_path, tiny_video_data)
    os.rename(config, home / 'cfg.py')
    video = os.path.join(tiny_video_data['videos'], 'val_0_0.mp4')
    proc = run_tool(['infer.py', '~/cfg.py', '~/ckpt.pth', video],
                    work,
                    env=env,
                    check=False)
    assert usage_line(proc) == (
        'infer.py: error: config ~/cfg.py: no such file (a leading ~ is not '
        f'expanded here; the file is {home / "cfg.py"}: give that path)')


def test_train_py_reads_and_writes_home_paths(tmp_path, tiny_video_data):
    home, work, config, env = _setup(
        tmp_path, tiny_video_data, TINY_ADAPTFORMER_VIDEO_CONFIG,
        'train_cfg = dict(max_epochs=1)\nval_cfg = None\n'
        'val_dataloader = None\nval_evaluator = None\n')
    run_tool(
        ['train.py', config, '--pretrained=~/ckpt.pth', '--work-dir=~/wd'],
        work,
        env=env)
    saved = home / 'wd' / 'epoch_1.pth'
    assert 'state_dict' in torch.load(saved, weights_only=True)
    assert os.listdir(work) == []
    # A checkpoint to start from, given with `~` on the command line.
    proc = run_tool([
        'train.py', config, '--pretrained=~/ckpt.pth', '--work-dir',
        tmp_path / 'wd2', '--cfg-options', 'load_from=~/wd/epoch_1.pth'
    ],
                    work,
                    env=env)
    assert f'Load checkpoint from {saved}' in proc.stdout
    assert os.listdir(work) == []
    run_tool([
        'train.py', config, '--pretrained=~/ckpt.pth', '--work-dir=~/wd',
        '--resume', '~/wd/epoch_1.pth', '--cfg-options',
        'train_cfg.max_epochs=2'
    ],
             work,
             env=env)
    assert (home / 'wd' / 'epoch_2.pth').is_file()
    assert os.listdir(work) == []
    proc = run_tool(['train.py', config, '--resume', '~/wd/nothing.pth'],
                    work,
                    env=env,
                    check=False)
    assert usage_line(proc) == (
        f'train.py: error: --resume {home / "wd" / "nothing.pth"}: no such '
        'file')


def test_a_config_work_dir_under_home_is_made_there(tmp_path, tiny_video_data):
    """A config's ``work_dir='~/wd'`` (or ``--cfg-options work_dir=~/wd``)
    went to MMEngine as written, which made a folder named ``~`` in the
    working directory; train.py and test.py now expand it as ``--work-dir``.
    """
    home, work, config, env = _setup(
        tmp_path, tiny_video_data, body="work_dir = '~/wd'\n")
    run_tool(['test.py', config, '~/ckpt.pth'], work, env=env)
    assert (home / 'wd').is_dir()
    run_tool(
        ['test.py', config, '~/ckpt.pth', '--cfg-options', 'work_dir=~/wd2'],
        work,
        env=env)
    assert (home / 'wd2').is_dir()
    run_tool(['train.py', config, '--cfg-options', 'train_cfg.max_epochs=1'],
             work,
             env=env)
    assert (home / 'wd' / 'epoch_1.pth').is_file()
    assert os.listdir(work) == []  # no folder named '~'
