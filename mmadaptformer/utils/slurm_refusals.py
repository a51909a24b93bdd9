# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A SLURM job's refusal, printed by the first rank of each node only.

``tools/slurm_train.sh`` and ``tools/slurm_test.sh`` run the tool in every
task of the job step; a config or command line that the tool refuses was
refused by every rank, each printing the same message. The scripts set
:data:`FIRST_RANK_PRINTS` (to the seconds to wait, 30 unless it is set
already), and then a rank other than the first of its node
(``SLURM_LOCALID`` other than 0) prints one short line instead
(:func:`leave_refusal_to_first_rank`), and waits: the node's first rank
meets the same refusal (the same config, command line and files) and
prints it, and its non-zero exit makes srun (``--kill-on-bad-exit=1``) end
the job, this rank with it. If the job is still running when the wait
ends (the first rank was not refused, or not yet), this rank's refusal is
printed after all, and it ends with its own status: nothing is lost.

Before the wait, a rank that exited first ended the job before the first
rank could print anything, and the refusal was lost; that is why the
other ranks do not end at once. Each node's first rank prints it, as
``tools/misc/dist_run.py`` does for ``tools/dist_*.sh``: the files that a
refusal names may differ between nodes.
"""
import os
import sys
import time

__all__ = ['FIRST_RANK_PRINTS', 'leave_refusal_to_first_rank']

#: Set by the ``tools/slurm_*.sh`` scripts to the seconds a rank other than
#: the first of its node waits for that one to end the job.
FIRST_RANK_PRINTS = 'MMADAPTFORMER_FIRST_RANK_PRINTS'


def leave_refusal_to_first_rank(tool: str) -> None:
    """In a task of a ``tools/slurm_*.sh`` job other than the first of its
    node, say on one line that this rank refused, and wait for the first
    rank's refusal to end the job; return (for the caller to print this
    rank's refusal) if it did not within the wait. Elsewhere return at
    once.

    Args:
        tool (str): The tool's name for the line, e.g. ``'train.py'``.
    """
    wait = os.environ.get(FIRST_RANK_PRINTS)
    local = os.environ.get('SLURM_LOCALID', '0')
    if wait is None or local == '0':
        return
    try:
        seconds = float(wait)
    except ValueError:
        print(
            f'{tool}: {FIRST_RANK_PRINTS}={wait!r} is no number of '
            'seconds: this rank prints its refusal itself',
            file=sys.stderr,
            flush=True)
        return
    rank = os.environ.get('SLURM_PROCID', '?')
    node = os.environ.get('SLURM_NODEID', '?')
    print(
        f'{tool}: rank {rank} refused; the first rank of node {node} '
        'prints why',
        file=sys.stderr,
        flush=True)
    time.sleep(max(seconds, 0.))
    print(
        f'{tool}: rank {rank}: the job did not end within {wait} s of its '
        'refusal; its own follows',
        file=sys.stderr,
        flush=True)
