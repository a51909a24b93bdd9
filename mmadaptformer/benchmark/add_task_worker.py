# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What ``MultiTaskRecognizer.add_task`` costs for N tasks
(:func:`measure`), and the worker process that measures it for
``tools/analysis_tools/benchmark_add_task.py``: this module run with
``--work-dir DIR --tasks N --threads T``
(:func:`~mmadaptformer.benchmark.worker_process.worker_command`), which
adds the first N tasks of ``DIR/add_task_tasks.json`` to a new engine and
prints the row as one JSON line.

The worker used to be the tool's own file run as a script, which imports
the ``mmadaptformer`` that ``sys.path`` finds first (the installed one, or
one on ``PYTHONPATH``), not necessarily the one the tool imported: run
from a checkout that is not the installed one, the workers measured the
installed code while the tool printed the table.
"""
import argparse
import json
import os.path as osp
import time
from typing import Dict, List, Optional

import torch
from mmengine.logging import MMLogger

from mmadaptformer.apis import MultiTaskRecognizer
from mmadaptformer.apis.benchmark import peak_rss_above

__all__ = ['TASKS_FILE', 'measure', 'main']

#: The tasks of a run (``dict(name, config, checkpoint)`` each, as
#: :func:`~mmadaptformer.apis.benchmark.write_tasks` returns them), in its
#: work dir.
TASKS_FILE = 'add_task_tasks.json'


def measure(tasks: List[Dict[str, str]], num: int) -> dict:
    """CPU time and peak memory of adding the first ``num`` tasks to a new
    :class:`MultiTaskRecognizer`.

    Args:
        tasks (list[dict]): ``dict(name, config, checkpoint)`` per task.
        num (int): How many of them to add.

    Returns:
        dict: ``tasks`` (``num``); ``cpu_s`` and ``cpu_s_per_task``:
        process CPU seconds of the ``add_task`` calls; ``peak_rss_mb``: the
        peak resident memory while they run, above the resident memory
        just before the first one (the process with its libraries imported
        and an empty engine), not the process's whole peak;
        ``tensor_mb``: the float32 tensors the engine holds. Both in MiB
        (2**20 bytes), as the project's benchmarks count memory.
    """
    engine = MultiTaskRecognizer()
    cpu = []

    def add_all():
        for task in tasks[:num]:
            start = time.process_time()
            engine.add_task(task['name'], task['config'], task['checkpoint'])
            cpu.append(time.process_time() - start)

    peak = peak_rss_above(add_all)
    return dict(
        tasks=num,
        cpu_s=sum(cpu),
        cpu_s_per_task=cpu,
        peak_rss_mb=peak / 2**20,
        tensor_mb=engine.num_tensor_elements() * 4 / 2**20)


def main(argv: Optional[List[str]] = None) -> dict:
    """Measure ``--tasks`` tasks of ``--work-dir`` and print the row."""
    parser = argparse.ArgumentParser(
        prog='add_task_worker.py',
        description='The worker of tools/analysis_tools/'
        'benchmark_add_task.py; run that tool instead.')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--tasks', type=int, required=True)
    parser.add_argument('--threads', type=int, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)  # the tool has warned
    # MMEngine's build messages and per-tensor init reports of every task
    # model would bury the row the tool reads.
    MMLogger.get_instance(
        f'add_task_worker_{time.time_ns()}', log_level='WARNING')
    with open(osp.join(args.work_dir, TASKS_FILE)) as f:
        tasks = json.load(f)
    row = measure(tasks, args.tasks)
    print(json.dumps(row))
    return row


if __name__ == '__main__':
    main()
