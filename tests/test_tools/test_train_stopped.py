# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py`` stopped by Ctrl-C ends with one line that says where
it stopped and which checkpoint ``--resume`` goes on from, and 130; every
file it wrote is kept. ``tools/test.py`` likewise says what it has not
written.

Before, both ended with a ``KeyboardInterrupt`` traceback of whatever they
were doing (a video decode, a forward pass), which said neither.
"""
import os
import re

from checkpoint_makers import save_stock_image_checkpoint
from config_writers import image_data_cfg, write_config
from repo_paths import TINY_IMAGE_CONFIG
from stopped_tools import stopped_tool
from tool_runners import run_tool

from mmadaptformer.utils import safe_torch_load

#: The log line after which training is stopped.
READY = 'Saving checkpoint at 2 epochs'


def test_ctrl_c_says_where_and_resume_goes_on(tmp_path, tiny_image_data):
    # More epochs than the test waits for, at one learning rate throughout.
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        'train_cfg = dict(max_epochs=1000)\nparam_scheduler = []\n')
    work_dir = str(tmp_path / 'work')
    # Stopped once it saves its second checkpoint (the stop may come
    # before or after that is complete).
    status, output = stopped_tool(tmp_path,
                                  ['train.py', config, '--work-dir', work_dir],
                                  READY)
    assert status == 130, output[-3000:]
    assert 'Traceback' not in output, output[-3000:]
    last = output.strip().splitlines()[-1]
    match = re.fullmatch(
        r'train\.py: stopped by Ctrl-C \(SIGINT\): (?:in epoch (\d+) of '
        r"1000, with \d+ of the run's 2000 iterations done|while "
        r'validating after epoch (\d+) of 1000); '
        r'its files are kept, the newest checkpoint is (\S+): add --resume '
        r'to the same command to go on from it', last)
    assert match, last
    stopped_in = int(match.group(1) or match.group(2))
    newest = match.group(3)
    # The one --resume reads, whole.
    with open(os.path.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == newest
    epoch = safe_torch_load(newest)['meta']['epoch']
    assert newest == os.path.join(work_dir, f'epoch_{epoch}.pth')
    assert epoch in (stopped_in, stopped_in - 1) and epoch >= 1
    # The log of the stopped run is kept.
    logs = sorted(p for p in os.listdir(work_dir) if p[0].isdigit())
    assert len(logs) == 1
    log = os.path.join(work_dir, logs[0], f'{logs[0]}.log')
    with open(log) as f:
        assert re.search(r'Epoch\(train\) +\[2\]\[2/2\]', f.read())

    # The same command with --resume goes on from that checkpoint.
    run_tool([
        'train.py', config, '--work-dir', work_dir, '--resume',
        '--cfg-options', f'train_cfg.max_epochs={epoch + 1}'
    ],
             cwd=tmp_path)
    logs = sorted(p for p in os.listdir(work_dir) if p[0].isdigit())
    with open(os.path.join(work_dir, logs[-1], f'{logs[-1]}.log')) as f:
        resumed = f.read()
    assert f'resumed epoch: {epoch}, iter: ' in resumed, resumed[-3000:]
    assert safe_torch_load(os.path.join(
        work_dir, f'epoch_{epoch + 1}.pth'))['meta']['epoch'] == epoch + 1


def test_ctrl_c_ends_a_test_run_on_one_line(tmp_path):
    """Stopped while it tests, it names the files it writes only at the
    end (``--out``, ``--dump``); an earlier file of that name is left as it
    was."""
    from mmadaptformer.testing import make_stripes_dataset
    data = str(tmp_path / 'data')
    # More inputs, one per batch, than are tested before the stop.
    make_stripes_dataset(data, num_per_class=500, splits=('val', ))
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        f'test_dataloader = dict(batch_size=1, dataset=dict(data_root='
        f'{data!r}))\n')
    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_image_checkpoint(checkpoint)
    out = tmp_path / 'results.pkl'
    out.write_bytes(b'an earlier run')
    status, output = stopped_tool(tmp_path, [
        'test.py', config, checkpoint, '--out',
        str(out), '--work-dir',
        str(tmp_path / 'work')
    ], 'Epoch(test) [')
    assert status == 130, output[-3000:]
    assert 'Traceback' not in output, output[-3000:]
    assert output.strip().splitlines()[-1] == (
        'test.py: stopped by Ctrl-C (SIGINT): while testing: its metrics, '
        f'and {out}, come only once every input is tested')
    assert out.read_bytes() == b'an earlier run'


def test_ctrl_c_names_the_checkpoint_resume_finds_in_a_moved_work_dir(
        tmp_path, tiny_image_data):
    """A moved work dir's ``last_checkpoint`` names the old place; the
    stopped run names the checkpoint ``--resume`` goes on from, the work
    dir's own, as :func:`~mmadaptformer.engine.resume.newest_checkpoints`
    finds it.

    Before, it said "no checkpoint was saved in WORK_DIR: the same command
    starts the run again", and that command would train from scratch.
    """
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + 'param_scheduler = []\n')
    old, work_dir = str(tmp_path / 'old'), str(tmp_path / 'work')
    run_tool([
        'train.py', config, '--work-dir', old, '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path)
    os.rename(old, work_dir)
    with open(os.path.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == os.path.join(old, 'epoch_1.pth')
    # Resumed, and stopped before it saves another checkpoint.
    status, output = stopped_tool(tmp_path, [
        'train.py', config, '--work-dir', work_dir, '--resume',
        '--cfg-options', 'train_cfg.max_epochs=1000',
        'default_hooks.checkpoint.interval=1000'
    ], 'resumed epoch: 1')
    assert status == 130, output[-3000:]
    assert output.strip().splitlines()[-1].endswith(
        '; its files are kept, the newest checkpoint is '
        f'{os.path.join(work_dir, "epoch_1.pth")}: add --resume to the same '
        'command to go on from it'), output[-3000:]
