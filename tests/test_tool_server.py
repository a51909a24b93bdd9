# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tests' own machinery: torchrun's workers forked from the tool server
(``PYTHON_EXEC``, ``tests/served_python.py``) behave as the processes
torchrun would start: output, exit codes and signals reach the right
process, and a killed stand-in takes its worker along."""
import os
import signal
import subprocess
import sys
import time

WORKER = '''
import os, signal, sys, time
out = sys.argv[1]
def on_term(sig, frame):
    open(out + '.term', 'w').write(str(os.getpid()))
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
with open(out + '.' + os.environ['RANK'], 'w') as f:
    f.write(f'{os.getpid()} {os.getppid()}')
print('rank', os.environ['RANK'], 'of', os.environ['WORLD_SIZE'], flush=True)
if sys.argv[2:] == ['sleep']:
    time.sleep(600)
sys.exit(3 if os.environ['RANK'] == '1' else 0)
'''


def _torchrun(tmp_path, nproc, port, *args):
    script = tmp_path / 'worker.py'
    script.write_text(WORKER)
    return subprocess.Popen(
        [
            sys.executable, '-m', 'torch.distributed.run',
            f'--nproc_per_node={nproc}', f'--master_port={port}',
            str(script),
            str(tmp_path / 'out')
        ] + list(args),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True)


def _wait_for(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f'{path} did not appear'
        time.sleep(0.05)
    return [int(v) for v in path.read_text().split()]


def _alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in 'ZX'
    except FileNotFoundError:
        return False


def _gone_within(pid, seconds):
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_workers_are_forked_and_report_output_and_exit_codes(
        tmp_path, served_torchrun_workers):
    proc = _torchrun(tmp_path, 2, 29601)
    out, _ = proc.communicate(timeout=120)
    for rank in (0, 1):
        _, parent = _wait_for(tmp_path / f'out.{rank}')
        cmdline = open(f'/proc/{parent}/cmdline').read()
        assert 'tool_server.py' in cmdline, cmdline
        assert f'rank {rank} of 2' in out
    # Rank 1 exited 3: torchrun saw that code, from the stand-in.
    assert proc.returncode != 0
    assert 'exitcode  : 3' in out, out[-3000:]


def test_torchruns_sigterm_reaches_the_worker(tmp_path,
                                              served_torchrun_workers):
    proc = _torchrun(tmp_path, 1, 29603, 'sleep')
    try:
        worker, _ = _wait_for(tmp_path / 'out.0')
        proc.send_signal(signal.SIGTERM)  # torchrun passes it on
        assert _wait_for(tmp_path / 'out.term') == [worker]
        assert _gone_within(worker, 30)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_killed_stand_in_takes_its_worker_along(tmp_path,
                                                  served_torchrun_workers):
    proc = _torchrun(tmp_path, 1, 29605, 'sleep')
    try:
        worker, _ = _wait_for(tmp_path / 'out.0')
        stand_ins = subprocess.run(
            ['pgrep', '-P', str(proc.pid)], stdout=subprocess.PIPE,
            text=True).stdout.split()
        assert len(stand_ins) == 1, stand_ins
        assert int(stand_ins[0]) != worker
        os.kill(int(stand_ins[0]), signal.SIGKILL)
        assert _gone_within(worker, 30)
        assert not (tmp_path / 'out.term').exists()  # SIGKILL, not SIGTERM
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_module_run_is_served_and_anything_else_runs_in_python(
        tmp_path, served_torchrun):
    """``$PYTHON -m torch.distributed.run`` (dist_train.sh) is served; a
    ``-c`` runs in the real interpreter."""
    (tmp_path / 'parent.py').write_text(
        'import os, sys\n'
        "print(open(f'/proc/{os.getppid()}/cmdline').read(), sys.argv[1:])\n"
        'sys.exit(5)\n')
    python = os.environ['PYTHON']
    assert python == os.environ['PYTHON_EXEC']
    served = subprocess.run([python, '-m', 'parent', 'a', 'b'],
                            cwd=tmp_path,
                            stdout=subprocess.PIPE,
                            text=True,
                            timeout=60)
    assert served.returncode == 5
    assert 'tool_server.py' in served.stdout
    assert "['a', 'b']" in served.stdout
    real = subprocess.run([python, '-c', 'import sys; print(sys.argv)'],
                          stdout=subprocess.PIPE,
                          text=True,
                          timeout=60)
    assert real.returncode == 0 and real.stdout.strip() == "['-c']"
