# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The machine a benchmark ran on: its CPU, its matmul flags and load."""
import os
import re
from typing import List, Optional

__all__ = ['MATMUL_FLAGS', 'cpu_info', 'loadavg']

#: The ``/proc/cpuinfo`` flags that set how fast a CPU runs float32 and
#: bfloat16 matmuls, with the names ``lscpu`` users know them by: without
#: AVX512-BF16 or AMX, bfloat16 autocast is emulated and far slower.
MATMUL_FLAGS = {
    'avx2': 'AVX2',
    'avx512f': 'AVX512',
    'avx512_bf16': 'AVX512-BF16',
    'amx_bf16': 'AMX-BF16',
}


def cpu_info(path: str = '/proc/cpuinfo') -> dict:
    """The CPU's model name, core count and :data:`MATMUL_FLAGS`, so that
    results of two machines can be told apart.

    Args:
        path (str): The cpuinfo file. Defaults to ``'/proc/cpuinfo'``.

    Returns:
        dict: ``cpu`` (None where unknown), ``cores`` and
        ``matmul_flags`` (the flags' names the CPU has, in the order of
        :data:`MATMUL_FLAGS`; None where unknown).
    """
    name, flags = None, None
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        text = ''
    match = re.search(r'^model name\s*:\s*(.+)$', text, re.M)
    name = match.group(1).strip() if match else None
    match = re.search(r'^flags\s*:\s*(.*)$', text, re.M)
    if match:
        have = set(match.group(1).split())
        flags = [label for flag, label in MATMUL_FLAGS.items() if flag in have]
    return dict(cpu=name, cores=os.cpu_count(), matmul_flags=flags)


def loadavg() -> Optional[List[float]]:
    """The 1, 5 and 15 minute load averages, None where unknown."""
    try:
        with open('/proc/loadavg') as f:
            return [float(v) for v in f.read().split()[:3]]
    except OSError:
        return None
