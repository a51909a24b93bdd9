# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``LOCAL_RANK`` as the tools set it at parse time, before ``init_dist``:
torchrun's is kept; under ``--launcher slurm`` it is the task's
``SLURM_LOCALID`` (it was ``--local-rank``, 0, in every task: each printed
the stopped line), under ``mpi`` Open MPI's local rank; else
``--local-rank``. A ``LOCAL_RANK`` inherited from the shell that started
srun (or a test run that set it) is the same in every task: the launcher's
count wins over it. The real srun job: ``tests/test_tools/
test_slurm_ctrl_c_once.py``."""
import os

import pytest

from mmadaptformer.utils.dist import launcher_rank, set_local_rank

SLURM = dict(SLURM_LOCALID='1', OMPI_COMM_WORLD_LOCAL_RANK='3')


@pytest.mark.parametrize('launcher, env, local_rank, expected', [
    ('slurm', SLURM, 0, '1'),
    ('mpi', SLURM, 0, '3'),
    ('none', SLURM, 0, '0'),
    ('pytorch', SLURM, 2, '2'),
    ('slurm', {}, 0, '0'),
    ('slurm', dict(SLURM, LOCAL_RANK='5'), 0, '1'),
    ('mpi', dict(SLURM, LOCAL_RANK='5'), 0, '3'),
    ('pytorch', dict(SLURM, LOCAL_RANK='5'), 0, '5'),
    ('none', dict(SLURM, LOCAL_RANK='5'), 0, '5'),
])
def test_local_rank(monkeypatch, launcher, env, local_rank, expected):
    for name in ('LOCAL_RANK', 'SLURM_LOCALID', 'OMPI_COMM_WORLD_LOCAL_RANK'):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    set_local_rank(launcher, local_rank)
    assert os.environ['LOCAL_RANK'] == expected


@pytest.mark.parametrize('launcher, expected', [('slurm', 3), ('mpi', 5),
                                                ('pytorch', 0), ('none', 0)])
def test_global_rank_is_the_launchers_own(monkeypatch, launcher, expected):
    """A ``RANK`` inherited from the shell that started srun (the same in
    every task) made every task rank 0: each took the work dir's training
    lock, and all but one were refused."""
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('SLURM_PROCID', '3')
    monkeypatch.setenv('OMPI_COMM_WORLD_RANK', '5')
    assert launcher_rank(launcher) == expected
