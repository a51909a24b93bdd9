# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Distributed training on machines without a GPU.

MMEngine's ``pytorch`` and ``slurm`` launchers call
``torch.cuda.set_device`` unconditionally, and the Runner's default DDP
wrapper passes ``device_ids=[LOCAL_RANK]``; both fail on a CPU-only machine.
:func:`setup_cpu_distributed` closes that gap without forking MMEngine: it
initialises a ``gloo`` process group itself *before* the Runner is built (the
Runner then skips its own ``init_dist``) and sets a model wrapper config that
passes ``device_ids=None``. On machines with a GPU it does nothing, so the
usual nccl, one-device-per-rank path is unchanged.
"""
import logging
import os
import subprocess
import sys
from typing import Callable, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

__all__ = [
    'setup_cpu_distributed', 'is_cpu_distributed', 'exit_now',
    'run_and_finish', 'launcher_env_problem', 'launcher_rank', 'set_local_rank'
]

_DDP_TYPES = ('MMDistributedDataParallel', 'DistributedDataParallel')


def _slurm_env_to_torch_env(port: Optional[int] = None) -> None:
    """Translate SLURM's variables into the ones ``env://`` reads."""
    proc_id = int(os.environ['SLURM_PROCID'])
    ntasks = int(os.environ['SLURM_NTASKS'])
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    os.environ['RANK'] = str(proc_id)


#: The environment variables each launcher's process group is built from
#: (MMEngine's ``init_dist``), and who sets them.
_LAUNCHER_ENV = {
    'pytorch': (('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
                'torchrun sets for each process it starts: start the run '
                'with tools/dist_{tool}.sh'),
    'slurm': (('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
              'srun sets in a SLURM job step: start the run with '
              'tools/slurm_{tool}.sh'),
    'mpi': (('OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_RANK',
             'OMPI_COMM_WORLD_SIZE', 'MASTER_ADDR'),
            'Open MPI\'s mpirun sets for each process (MASTER_ADDR: export '
            'it and pass it on with mpirun -x MASTER_ADDR)'),
}


def _one_of_several_problem(tool: str) -> Optional[str]:
    """Why ``--launcher none`` must not run in this process: torchrun
    started it as one of several (``torchrun --nproc_per_node 2
    tools/{tool}.py CONFIG``); None if it did not.

    ``WORLD_SIZE`` only: srun's ``SLURM_STEP_NUM_TASKS`` is set in every
    process of a step, including one process started in it by a shell
    (``srun -n 4 --pty bash``, a sweep that packs one run per task with
    ``srun -n 4 bash -c '... --work-dir wd/$SLURM_PROCID'``).
    ``tools/slurm_{tool}.sh ... --launcher none`` is refused as a
    ``--launcher`` given twice
    (:func:`~.cli_types.add_launcher_argument`)."""
    count = os.environ.get('WORLD_SIZE', '')
    if not count.isdigit() or int(count) < 2:
        return None
    return (f'--launcher none, but this is one of the {count} processes '
            f'that torchrun started (WORLD_SIZE={count}): each would {tool} '
            'alone on all the data, into the same work dir; give '
            f'tools/{tool}.py --launcher pytorch under torchrun (tools/'
            f'dist_{tool}.sh passes it), or run tools/{tool}.py without '
            'torchrun to run one process.')


def launcher_env_problem(launcher: str, tool: str) -> Optional[str]:
    """Why ``--launcher LAUNCHER`` cannot start here, for the tools to
    refuse before they read the config; None if it can.

    MMEngine's ``init_dist`` reads its launcher's environment variables
    with ``os.environ[...]``: a run started without its launcher (``python
    tools/train.py CONFIG --launcher pytorch``) ended in a ``KeyError:
    'RANK'`` traceback (``'SLURM_PROCID'`` outside a SLURM job).

    ``--launcher none`` in a process that torchrun started as one of
    several (``WORLD_SIZE`` above 1: ``tools/train.py`` under ``torchrun
    --nproc_per_node 2`` without ``--launcher``) is refused too: each
    process trained alone on all the data and wrote the same checkpoints
    in the same work dir, and the job ended with status 0. Under srun it
    is not: one process may run in each task of a step.

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        tool (str): ``'train'`` or ``'test'``, to name the tool's script.

    Returns:
        str | None: One line naming the missing variables, who sets them,
        and how to run without a launcher; or the launcher's variable and
        the ``--launcher`` to give.
    """
    if launcher == 'none':
        return _one_of_several_problem(tool)
    if launcher == 'mpi' and not torch.cuda.is_available():
        return ('--launcher mpi is not supported without a GPU; use '
                f'tools/dist_{tool}.sh (--launcher pytorch) or '
                f'tools/slurm_{tool}.sh (--launcher slurm).')
    if launcher not in _LAUNCHER_ENV:
        return None
    names, setter = _LAUNCHER_ENV[launcher]
    missing = [name for name in names if name not in os.environ]
    if not missing:
        return None
    return (f'--launcher {launcher} needs the environment variables '
            f'{", ".join(missing)}, which {setter.format(tool=tool)}; or '
            'leave --launcher out to run one process.')


#: Where each launcher's processes find their global rank (torchrun's,
#: ``pytorch``: ``RANK``).
_RANK_ENV = {'slurm': 'SLURM_PROCID', 'mpi': 'OMPI_COMM_WORLD_RANK'}


def launcher_rank(launcher: str) -> int:
    """This process's global rank as its launcher set it, before any
    process group exists (torchrun's ``RANK``, Slurm's ``SLURM_PROCID``,
    Open MPI's ``OMPI_COMM_WORLD_RANK``); 0 with ``launcher='none'``: each
    such process is a run of its own (e.g. one per task of a SLURM step,
    whose ``SLURM_PROCID`` is no rank of this run).

    Args:
        launcher (str): The run's ``--launcher`` (``cfg.launcher``).

    Returns:
        int: The rank, 0 where none is set.
    """
    if launcher == 'none':
        return 0
    # The launcher's own variable: srun and mpirun pass on the environment
    # they were started in, so a RANK there is the shell's, alike in every
    # task, and would make each the rank 0.
    value = os.environ.get(_RANK_ENV.get(launcher, 'RANK'), '')
    return int(value) if value.isdigit() else 0


#: Where each launcher's processes find their rank on their node.
_NODE_RANK_ENV = {
    'slurm': 'SLURM_LOCALID',
    'mpi': 'OMPI_COMM_WORLD_LOCAL_RANK'
}


def set_local_rank(launcher: str, local_rank: int) -> None:
    """Set ``LOCAL_RANK``, this process's rank on its node: torchrun
    sets it, and it is kept; under ``--launcher slurm`` it is
    srun's ``SLURM_LOCALID`` (MMEngine 0.10.7's ``init_dist`` sets
    ``LOCAL_RANK`` from it too, or from ``SLURM_PROCID`` modulo the GPU
    count where it is missing, but only once the Runner is built); under
    ``--launcher mpi``, Open MPI's ``OMPI_COMM_WORLD_LOCAL_RANK``
    (``init_dist`` only reads it, to pick the GPU, and never sets
    ``LOCAL_RANK``); else the tool's ``--local-rank``
    (``torch.distributed.launch`` passes it).

    What reads it first is which process of a node prints the line of a
    run stopped by Ctrl-C: under srun, every task took the ``--local-rank``
    default 0 and printed it. Under ``slurm`` and ``mpi`` the launcher's
    count wins over a ``LOCAL_RANK`` already set: srun and mpirun pass the
    environment they were started in to every task, so one found there
    came from that shell and is the same in every task.

    Args:
        launcher (str): The tool's ``--launcher``.
        local_rank (int): The tool's ``--local-rank``.
    """
    name = _NODE_RANK_ENV.get(launcher)
    node_rank = os.environ.get(name) if name else None
    if node_rank:
        # srun and mpirun hand every task the environment they were started
        # in: a LOCAL_RANK found there is the shell's, the same in each task.
        os.environ['LOCAL_RANK'] = node_rank
    elif 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)


def is_cpu_distributed() -> bool:
    """Whether a CPU (gloo) process group is initialised.

    Returns:
        bool: True if ``torch.distributed`` is initialised with the gloo
        backend and no GPU is visible.
    """
    return (torch_dist.is_available() and torch_dist.is_initialized()
            and not torch.cuda.is_available()
            and torch_dist.get_backend() == 'gloo')


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare a distributed run for a machine without a GPU.

    Call it after the config is loaded and before the Runner is built, as
    ``tools/train.py`` and ``tools/test.py`` do.

    Args:
        cfg (Config): The run's config. Its ``model_wrapper_cfg`` is set (or
            completed) so that DDP gets ``device_ids=None``, and its
            ``env_cfg.dist_cfg.backend`` is set to ``'gloo'``.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: True if a CPU process group was set up; False when the run is
        not distributed or a GPU is present (nothing is changed then).

    Raises:
        ValueError: For another launcher (``'mpi'``).
        RuntimeError: If the variables the launcher's process group is
            built from are not set (the process was not started by
            torchrun or srun), naming them and what sets them.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher not in ('pytorch', 'slurm'):
        raise ValueError(
            f'launcher={launcher!r} is not supported without a GPU; use '
            "'pytorch' (torchrun: tools/dist_train.sh, tools/dist_test.sh) "
            "or 'slurm' (srun: tools/slurm_train.sh, tools/slurm_test.sh).")
    missing = [
        key for key in _LAUNCHER_ENV[launcher][0] if key not in os.environ
    ]
    if missing:
        # Reached by direct API callers too: name every way in.
        starter = dict(
            pytorch='torchrun sets in each process it starts (tools/'
            'dist_train.sh and tools/dist_test.sh run it)',
            slurm='srun sets in a SLURM job step (tools/slurm_train.sh and '
            'tools/slurm_test.sh run it)')[launcher]
        raise RuntimeError(
            f'launcher={launcher!r} needs the environment variables '
            f'{missing}, which {starter}; start this process that way, or '
            'set them yourself.')
    if launcher == 'slurm':
        dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
        _slurm_env_to_torch_env(dist_cfg.get('port'))
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo', init_method='env://')

    env_cfg = cfg.get('env_cfg') or {}
    env_cfg['dist_cfg'] = dict(env_cfg.get('dist_cfg') or {}, backend='gloo')
    cfg.env_cfg = env_cfg
    wrapper_cfg = cfg.get('model_wrapper_cfg')
    if wrapper_cfg is None:
        # Mirror the Runner's default wrapper, minus the device ids.
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
            device_ids=None)
    elif wrapper_cfg.get('type', 'MMDistributedDataParallel') in _DDP_TYPES:
        wrapper_cfg['device_ids'] = None
    return True


def exit_now(code: int = 0) -> None:
    """Flush logs and streams, then end the process without running native
    destructors.

    Used by the tools after a successful CPU DDP run: a finished worker can
    otherwise abort while the interpreter tears down native threads.

    Args:
        code (int): The exit status. Defaults to 0.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_and_finish(run: Callable[[], object], cpu_distributed: bool) -> None:
    """Run a tool's job (``runner.train`` or ``runner.test``), then tear
    distributed training down.

    The process group is destroyed whatever happens. After a successful
    CPU-distributed run the process ends through :func:`exit_now`: a finished
    CPU DDP worker sometimes aborts (SIGABRT, "terminate called without an
    active exception") while the interpreter tears down native threads,
    which would turn a completed run into a failed torchrun job.

    Args:
        run (Callable): The job; everything it writes is written when it
            returns.
        cpu_distributed (bool): What :func:`setup_cpu_distributed` returned.
    """
    try:
        run()
    finally:
        if torch_dist.is_available() and torch_dist.is_initialized():
            torch_dist.destroy_process_group()
    if cpu_distributed:
        exit_now()
