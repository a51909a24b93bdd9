# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/gpu_check.sh and tools/dist_*.sh put the checkout on PYTHONPATH, and
nothing else."""
import os
import os.path as osp
import socket
import subprocess

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_the_working_directory_shadows_no_package(tmp_path):
    """With PYTHONPATH unset, ``export PYTHONPATH=tools/..:$PYTHONPATH``
    left an empty entry, which Python reads as the working directory:
    a folder holding an ``mmengine`` (a clone, a stray file) replaced the
    installed one for the whole check, before site-packages."""
    (tmp_path / 'mmengine').mkdir()
    (tmp_path / 'mmengine' / '__init__.py').write_text(
        "raise ImportError('the working directory shadowed mmengine')\n")
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'gpu_check.sh'), '--help'],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300)
    assert 'shadowed' not in proc.stdout, proc.stdout
    assert proc.returncode == 0, proc.stdout
    assert '--out-dir' in proc.stdout


def test_dist_scripts_keep_the_working_directory_off_the_path(tmp_path):
    """``tools/dist_train.sh`` and ``dist_test.sh`` had the same empty
    PYTHONPATH entry: run from a folder holding an ``mmengine``, every
    worker imported that one. Now the config is what they complain of."""
    (tmp_path / 'mmengine').mkdir()
    (tmp_path / 'mmengine' / '__init__.py').write_text(
        "raise ImportError('the working directory shadowed mmengine')\n")
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        env['PORT'] = str(s.getsockname()[1])
    for script in ('dist_train.sh', 'dist_test.sh'):
        args = (['missing.py', 'missing.pth', '1']
                if script == 'dist_test.sh' else ['missing.py', '1'])
        proc = subprocess.run(
            ['bash', osp.join(ROOT, 'tools', script)] + args,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300)
        assert 'shadowed' not in proc.stdout, proc.stdout
        assert proc.returncode != 0
        assert 'missing.py' in proc.stdout, proc.stdout
