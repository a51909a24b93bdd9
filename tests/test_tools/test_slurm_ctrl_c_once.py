# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Ctrl-C in a ``tools/slurm_train.sh`` job before the process group is
set up prints the stopped line once per node, not once per task.

The line is printed by each node's first process, read from
``LOCAL_RANK``; under srun, only ``init_dist`` set it (from
``SLURM_LOCALID``), and the tools had set it to their ``--local-rank``
(0) before: stopped earlier, every task printed the same line. SLURM does
not run here: ``srun`` is a script on ``PATH`` that starts its tasks with
the variables srun sets, and passes Ctrl-C on to them as srun does (here
they get it from the terminal's process group). Both tasks are held at
their config's ``custom_imports``, before the Runner and ``init_dist``."""
import os
import sys

from config_writers import image_data_cfg, write_config
from repo_paths import TINY_IMAGE_CONFIG
from stopped_tools import stopped_tool
from tool_runners import free_port

#: Tasks started with srun's variables; srun itself waits through Ctrl-C.
FAKE_SRUN = '''import os, signal, subprocess, sys
args = sys.argv[1:]
ntasks = per_node = 1
while args[0].startswith('-'):
    key, _, value = args.pop(0).partition('=')
    if key == '-p':
        args.pop(0)
    elif key == '--ntasks':
        ntasks = int(value)
    elif key == '--ntasks-per-node':
        per_node = int(value)
procs = [
    subprocess.Popen(
        args,
        env=dict(os.environ, SLURM_PROCID=str(rank),
                 SLURM_LOCALID=str(rank % per_node),
                 SLURM_NODEID=str(rank // per_node),
                 SLURM_NTASKS=str(ntasks), SLURM_NODELIST='localhost',
                 SLURM_STEP_NUM_TASKS=str(ntasks),
                 MASTER_ADDR='127.0.0.1')) for rank in range(ntasks)
]
signal.signal(signal.SIGINT, signal.SIG_IGN)
codes = [p.wait() for p in procs]
sys.exit(next((c for c in codes if c), 0))
'''

#: Imported by the config: says it holds, and holds.
HOLD = '''import sys, time
print('HELD', flush=True)
time.sleep(600)
'''


def test_ctrl_c_before_init_dist_prints_once(tmp_path, tiny_image_data):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text(f'#!{sys.executable}\n{FAKE_SRUN}')
    (bin_dir / 'srun').chmod(0o755)
    (tmp_path / 'held_import.py').write_text(HOLD)
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + 'custom_imports = dict(imports=['
        "'mmadaptformer', 'held_import'])\n")
    status, output = stopped_tool(
        tmp_path, [
            'slurm_train.sh', 'part', 'job', config, '--work-dir',
            tmp_path / 'work'
        ],
        'HELD',
        paths=[str(tmp_path)],
        env=dict(
            PATH=f'{bin_dir}:{os.environ["PATH"]}',
            PYTHON=sys.executable,
            GPUS='2',
            GPUS_PER_NODE='2',
            PORT=str(free_port())),
        count=2)
    line = ('train.py: stopped by Ctrl-C (SIGINT): before training started: '
            'nothing was trained')
    assert output.count(line) == 1, output[-3000:]
    assert 'Traceback' not in output, output[-3000:]
    assert status == 130, output[-3000:]
