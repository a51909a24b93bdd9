# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/gpu_check.sh puts the checkout on PYTHONPATH, and nothing else."""
import os
import os.path as osp
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
