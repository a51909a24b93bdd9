# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/slurm_train.sh`` and ``tools/slurm_test.sh``: a refusal of the
config or the command line is printed by the first rank of each node, not
by every rank; the others print one line and wait for it to end the job,
and print their own refusal if it does not.

SLURM does not run here: ``srun`` is a script on ``PATH`` that starts its
``--ntasks`` tasks with the variables srun sets (``SLURM_PROCID``,
``SLURM_LOCALID``, ``SLURM_NODEID``, ``SLURM_NTASKS``, ``SLURM_NODELIST``,
``SLURM_STEP_NUM_TASKS``)
and, with ``--kill-on-bad-exit=1``, ends the others once a task exits with
a non-zero status, as srun does (SIGTERM, then SIGKILL)."""
import os
import shlex
import subprocess
import sys

from config_writers import video_data_cfg, write_config
from repo_paths import TINY_VIDEO_CONFIG, TOOLS
from tool_runners import free_port

from mmadaptformer.utils.slurm_refusals import FIRST_RANK_PRINTS

FAKE_SRUN = '''import os, signal, subprocess, sys, time
args = sys.argv[1:]
ntasks = per_node = 1
kill = False
i = 0
while i < len(args):
    if args[i] == '-p':
        i += 2
        continue
    if not args[i].startswith('-'):
        break
    key, _, value = args[i].partition('=')
    if key == '--ntasks':
        ntasks = int(value)
    elif key == '--ntasks-per-node':
        per_node = int(value)
    elif key == '--kill-on-bad-exit':
        kill = value == '1'
    i += 1
procs = [
    subprocess.Popen(
        args[i:],
        env=dict(os.environ, SLURM_PROCID=str(rank),
                 SLURM_LOCALID=str(rank % per_node),
                 SLURM_NODEID=str(rank // per_node),
                 SLURM_NTASKS=str(ntasks), SLURM_NODELIST='localhost',
                 SLURM_STEP_NUM_TASKS=str(ntasks),
                 MASTER_ADDR='127.0.0.1')) for rank in range(ntasks)
]
status = 0
while None in [p.poll() for p in procs]:
    failed = [p.returncode for p in procs if p.returncode]
    if failed and kill:
        status = failed[0]
        # As srun: SIGTERM, then SIGKILL after its KillWait.
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        break
    time.sleep(0.05)
codes = [p.returncode for p in procs if p.returncode]
sys.exit(status or (codes[0] if codes else 0))
'''


def _srun_env(tmp_path, env=None):
    """The environment with the fake ``srun`` first on ``PATH`` and a
    free ``PORT``."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    srun = bin_dir / 'srun'
    srun.write_text(f'#!{sys.executable}\n{FAKE_SRUN}')
    srun.chmod(0o755)
    full_env = dict(
        os.environ,
        PATH=f'{bin_dir}:{os.environ["PATH"]}',
        PYTHON=sys.executable,
        GPUS='2',
        GPUS_PER_NODE='2',
        PORT=str(free_port()),
        OMP_NUM_THREADS='1')
    # The scripts' default wait, unless the test sets another.
    full_env.pop(FIRST_RANK_PRINTS, None)
    full_env.update(env or {})
    return full_env


def _run(command, tmp_path, env):
    return subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300)


def _slurm_run(tmp_path, script, args, env=None):
    """Run ``tools/SCRIPT part job ARGS`` with 2 tasks on one node."""
    return _run(['bash', os.path.join(TOOLS, script), 'part', 'job'] +
                [str(a) for a in args], tmp_path, _srun_env(tmp_path, env))


def test_config_refusal_is_printed_once(tmp_path, tiny_video_data):
    """Both ranks printed ``ConfigError: ...``; now rank 1 says in one line
    that rank 0's node prints it, and srun ends it with the job."""
    body = video_data_cfg(tiny_video_data) + (
        'train_dataloader = dict(batch_sise=2)\n')
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)
    work = tmp_path / 'work'
    proc = _slurm_run(tmp_path, 'slurm_train.sh', [config, '--work-dir', work])
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert out.count('ConfigError: ') == 1, out[-3000:]
    assert 'batch_sise' in out, out[-3000:]
    assert out.count('train.py: rank 1 refused; the first rank of node 0 '
                     'prints why') == 1, out[-3000:]
    assert 'did not end within' not in out, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    assert not work.exists()


def test_usage_error_is_printed_once(tmp_path, tiny_video_data):
    """``parser.error`` (exit status 2) of slurm_test.sh: the usage and
    ``test.py: error: ...`` once, not once per rank."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = _slurm_run(tmp_path, 'slurm_test.sh',
                      [config, tmp_path / 'nope.pth'])
    out = proc.stdout
    assert proc.returncode == 2, out[-3000:]
    assert out.count('usage: test.py') == 1, out[-3000:]
    assert out.count('test.py: error: ') == 1, out[-3000:]
    assert 'nope.pth' in out, out[-3000:]
    assert out.count('test.py: rank 1 refused') == 1, out[-3000:]


def test_a_refusal_of_another_rank_alone_is_not_lost(tmp_path,
                                                     tiny_video_data):
    """Only rank 1 refuses (its validation list, chosen by its
    ``SLURM_LOCALID``, lists nothing); rank 0 goes on and waits for it in
    the process group. Rank 1 prints its own refusal once its wait ends,
    and the job ends with its status."""
    empty = tmp_path / 'val1.txt'
    empty.write_text('')
    (tmp_path / 'val0.txt').write_text(open(tiny_video_data['val']).read())
    data = dict(
        tiny_video_data, val=str(tmp_path / 'val{{$SLURM_LOCALID:0}}.txt'))
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(data))
    proc = _slurm_run(
        tmp_path,
        'slurm_train.sh', [config, '--work-dir', tmp_path / 'work'],
        env={FIRST_RANK_PRINTS: '3'})
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert 'train.py: rank 1 refused' in out, out[-3000:]
    assert ('train.py: rank 1: the job did not end within 3 s of its '
            'refusal; its own follows') in out, out[-3000:]
    assert out.rstrip().splitlines()[-1] == (
        f'AnnotationError: {empty}: the annotation file lists no videos'), \
        out[-3000:]


def test_launcher_none_in_a_job_step_is_refused_once(tmp_path,
                                                     tiny_video_data):
    """``slurm_train.sh ... --launcher none`` (after the script's
    ``--launcher=slurm``; argparse keeps the last): each task trained alone
    on all the data into one work dir, and the job ended with status 0.
    Now refused as a ``--launcher`` given twice, printed once."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    work = tmp_path / 'work'
    proc = _slurm_run(tmp_path, 'slurm_train.sh',
                      [config, '--launcher', 'none', '--work-dir', work])
    out = proc.stdout
    assert proc.returncode == 2, out[-3000:]
    assert out.count('train.py: error: --launcher given twice, slurm then '
                     'none: tools/dist_train.sh passes --launcher pytorch '
                     'itself (tools/slurm_train.sh --launcher slurm): give '
                     'them no --launcher; to run one process, run '
                     'tools/train.py alone, without --launcher.') == 1, \
        out[-3000:]
    assert out.count('train.py: rank 1 refused') == 1, out[-3000:]
    assert not work.exists()


def test_one_process_in_a_task_of_a_step_trains(tmp_path, tiny_video_data):
    """``srun -n 4 --pty bash``, then ``python tools/train.py CONFIG``:
    one process, in the first task of a 4-task step
    (``SLURM_STEP_NUM_TASKS=4``), trains with ``--launcher none``, as a
    sweep packing one run per task does. Before, it was refused (exit
    status 2) as one of the 4 processes that srun started."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    work = tmp_path / 'work'
    train = ' '.join(
        shlex.quote(str(a))
        for a in (os.path.join(TOOLS, 'train.py'), config, '--launcher',
                  'none', '--work-dir', work))
    shell = (f'if [ "$SLURM_PROCID" = 0 ]; then '
             f'[ "$SLURM_STEP_NUM_TASKS" = 4 ] && exec "$PYTHON" {train}; '
             'fi')
    proc = _run(['srun', '--ntasks=4', 'bash', '-c', shell], tmp_path,
                _srun_env(tmp_path))
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:]
    assert 'train.py: error' not in out, out[-3000:]
    assert (work / 'epoch_2.pth').exists(), out[-3000:]
