# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The torch threads of a benchmark process: ``--threads`` of the three
benchmark tools (``benchmark_train.py``, ``benchmark_infer.py``,
``benchmark_add_task.py``), set with one rule and one warning."""
import logging
import os
from typing import Optional

__all__ = ['usable_cores', 'threads_problem', 'use_threads']


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, which
    ``taskset`` and container CPU sets narrow; ``os.cpu_count()`` where
    the platform has no ``os.sched_getaffinity``)."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads_problem(threads: int) -> Optional[str]:
    """A warning line for ``--threads`` above :func:`usable_cores`; None
    when every thread can have a core.

    Args:
        threads (int): The ``--threads`` given.
    """
    cores = usable_cores()
    if threads <= cores:
        return None
    return (f'--threads {threads} is more than the {cores} CPU core(s) this '
            'process may use (os.sched_getaffinity): timings will be '
            'oversubscribed (threads take turns on the cores); give '
            f'--threads {cores} or fewer')


def use_threads(threads: int) -> None:
    """``torch.set_num_threads(threads)``, after logging
    :func:`threads_problem`'s warning where there is one: the one rule of
    the three benchmark tools' ``--threads`` (``benchmark_infer.py`` and
    ``benchmark_add_task.py`` set it without a word before).

    Args:
        threads (int): The ``--threads`` given.
    """
    import torch
    from mmengine.logging import print_log
    problem = threads_problem(threads)
    if problem:
        print_log(problem, logger='current', level=logging.WARNING)
    torch.set_num_threads(threads)
