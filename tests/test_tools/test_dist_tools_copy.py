# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/dist_train.sh`` run from a copy of ``tools/`` and ``configs/``
outside the checkout, with the package installed: its launcher
(``tools/misc/dist_run.py``) loaded ``torchrun_error_file.py`` by a path
relative to ``tools/`` and ended in a ``FileNotFoundError`` traceback,
while ``python3 tools/train.py`` from the same copy worked. It now finds
the installed package's file."""
import os
import shutil
import subprocess
import sys

from config_writers import image_data_cfg
from repo_paths import CONFIGS, TOOLS
from tool_runners import free_port

from mmadaptformer.utils import safe_torch_load


def test_copied_tools_train_with_the_installed_package(
        tmp_path, tiny_image_data, served_torchrun_workers):
    copy = tmp_path / 'copy'
    shutil.copytree(TOOLS, copy / 'tools')
    shutil.copytree(CONFIGS, copy / 'configs')
    config = copy / 'configs' / 'tiny' / 'mine.py'
    config.write_text("_base_ = ['./tiny_vit_image.py']\n" +
                      image_data_cfg(tiny_image_data) +
                      'train_cfg = dict(max_epochs=1)\n')
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(free_port()))
    proc = subprocess.run([
        'bash', 'tools/dist_train.sh', 'configs/tiny/mine.py', '1',
        '--work-dir', 'work'
    ],
                          cwd=copy,
                          env=env,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'torchrun_error_file.py' not in proc.stdout
    ckpt = safe_torch_load(str(copy / 'work' / 'epoch_1.pth'))
    assert ckpt['meta']['epoch'] == 1


def test_a_folder_in_the_packages_place_is_one_line(tmp_path):
    """A folder called ``mmadaptformer`` first on ``PYTHONPATH`` (not the
    package) is named in one line, not a traceback."""
    (tmp_path / 'mmadaptformer').mkdir()
    (tmp_path / 'mmadaptformer' / '__init__.py').write_text('')
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    launcher = os.path.join(TOOLS, 'misc', 'dist_run.py')
    proc = subprocess.run(
        [sys.executable, launcher, '--nproc_per_node=1', 'train.py'],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300)
    missing = tmp_path / 'mmadaptformer' / 'utils' / 'torchrun_error_file.py'
    assert (proc.returncode, proc.stdout) == (1, '')
    assert proc.stderr == (
        f'{launcher}: {missing} is not there: the mmadaptformer that '
        f'{sys.executable} imports is not the package (a folder of that '
        'name first on PYTHONPATH?)\n')
