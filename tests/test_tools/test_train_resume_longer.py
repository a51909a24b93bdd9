# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py CONFIG --resume --cfg-options train_cfg.max_epochs=N+k``
with a cosine whose ``end``/``T_max`` follow ``max_epochs``: MMEngine
restores the checkpoint's scheduler state whole, so the added epochs train
at the last learning rate the ended cosine set. The resume warning says
which (read here from the resumed run's own log), and its command to decay
over the added epochs instead does so.

Before, the warning said only that the learning rate "follows the schedule
the run was trained with (constant after its end)", and its fix, a new run
with ``load_from``, trained every epoch again from the base learning rate.
Then the command named no work dir: run as given, the new run wrote its
``epoch_2.pth`` over the file it loaded.
"""
import os
import re

from config_writers import image_data_cfg, write_config
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_tool


def _epoch_lrs(work_dir: str) -> dict:
    """``{epoch: {lr, ...}}`` of the newest run's log in ``work_dir``."""
    run = sorted(p for p in os.listdir(work_dir) if p[0].isdigit())[-1]
    with open(os.path.join(work_dir, run, f'{run}.log')) as f:
        found = re.findall(r'Epoch\(train\) +\[(\d+)\]\[\d+/\d+\] +lr: (\S+)',
                           f.read())
    lrs = {}
    for epoch, lr in found:
        lrs.setdefault(int(epoch), set()).add(float(lr))
    return lrs


def test_added_epochs_train_at_the_lr_the_warning_names(
        tmp_path, tiny_image_data):
    # The tiny config's cosine has no end: MMEngine gives it max_epochs.
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        'train_cfg = dict(max_epochs=2, val_interval=100)\n')
    # The default work dir, which the advised command also gets unless it
    # names another.
    work_dir = str(tmp_path / 'work_dirs' / 'cfg')
    run_tool(['train.py', config], cwd=tmp_path)
    checkpoint = os.path.join(work_dir, 'epoch_2.pth')
    trained = _epoch_lrs(work_dir)
    assert trained == {1: {0.05}, 2: {0.025}}, trained

    output = run_tool([
        'train.py', config, '--resume', '--cfg-options',
        'train_cfg.max_epochs=4'
    ],
                      cwd=tmp_path).stdout
    warning = re.search(r'Resuming from .*', output).group(0)
    assert ('(CosineAnnealingLR (param_scheduler[0]): T_max 2 vs 4, end 2 '
            'vs 4; checkpoint vs config)') in warning, warning
    said = re.search(
        r"The checkpoint's learning-rate schedule has ended \("
        r'CosineAnnealingLR end 2 \(epochs\)\): epochs 3 to 4 '
        r'\(train_cfg\.max_epochs\) train at lr (\S+), the last value it '
        r'set\.', warning)
    assert said, warning
    # What the resumed run really trained at.
    resumed = _epoch_lrs(work_dir)
    assert resumed == {3: {float(said.group(1))}, 4: {float(said.group(1))}}
    assert resumed[3] == trained[2]

    # The warning's command, run as it is given, decays over the added
    # epochs from there, and in a work dir of its own: in the run's, its
    # epoch_2.pth would replace the file it loads.
    command = re.search(r'tools/train\.py CONFIG (.*), without --resume\.$',
                        warning).group(1).split()
    new_dir = f'{work_dir}_from_epoch_2'
    assert command == [
        '--work-dir', new_dir, '--cfg-options', f'load_from={checkpoint}',
        'train_cfg.max_epochs=2', 'optim_wrapper.optimizer.lr=0.025'
    ]
    with open(checkpoint, 'rb') as f:
        loaded = f.read()
    run_tool(['train.py', config] + command, cwd=tmp_path)
    assert _epoch_lrs(new_dir) == {1: {0.025}, 2: {0.0125}}
    with open(checkpoint, 'rb') as f:
        assert f.read() == loaded
    with open(os.path.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('epoch_4.pth')


def test_one_added_epoch_is_named_alone(tmp_path, tiny_image_data):
    """A resume that adds one epoch read "epochs 3 to 3 ... train"."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        'train_cfg = dict(max_epochs=2, val_interval=100)\n')
    work_dir = str(tmp_path / 'work')
    run_tool(['train.py', config, '--work-dir', work_dir], cwd=tmp_path)
    output = run_tool([
        'train.py', config, '--work-dir', work_dir, '--resume',
        '--cfg-options', 'train_cfg.max_epochs=3'
    ],
                      cwd=tmp_path).stdout
    warning = re.search(r'Resuming from .*', output).group(0)
    assert ("The checkpoint's learning-rate schedule has ended "
            '(CosineAnnealingLR end 2 (epochs)): epoch 3 '
            '(train_cfg.max_epochs) trains at lr 0.025, the last value it '
            'set. To decay over the added epoch instead, ') in warning, warning
    assert warning.endswith(
        f'tools/train.py CONFIG --work-dir {work_dir}_from_epoch_2 '
        f'--cfg-options load_from={work_dir}/epoch_2.pth '
        'train_cfg.max_epochs=1 optim_wrapper.optimizer.lr=0.025, without '
        '--resume.'), warning
