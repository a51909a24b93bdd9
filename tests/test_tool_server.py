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

from tool_runners import free_port

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
    proc = _torchrun(tmp_path, 2, free_port())
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
    proc = _torchrun(tmp_path, 1, free_port(), 'sleep')
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
    proc = _torchrun(tmp_path, 1, free_port(), 'sleep')
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


CLIENT = '''
import sys, time
sys.path.insert(0, sys.argv[1])
from tool_server_client import _ToolServer
server = _ToolServer(preload=('os', ))
script, out = sys.argv[2], sys.argv[3]
proc = server.start([sys.executable, script], sys.argv[4], {}, out)
print(proc.pid, flush=True)
if sys.argv[5:] == ['stop']:
    server.stop()
    print('stopped', flush=True)
time.sleep(600)
'''


def _served_sleeper(tmp_path, *args):
    """A client of its own, with one served child asleep; the client's
    process and the child's pid."""
    (tmp_path / 'client.py').write_text(CLIENT)
    (tmp_path / 'sleeper.py').write_text('import time\ntime.sleep(600)\n')
    tests = os.path.dirname(os.path.abspath(__file__))
    client = subprocess.Popen(
        [
            sys.executable,
            str(tmp_path / 'client.py'), tests,
            str(tmp_path / 'sleeper.py'),
            str(tmp_path / 'out.log'),
            str(tmp_path)
        ] + list(args),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True)
    return client, int(client.stdout.readline())


def test_a_killed_client_takes_the_served_tools_along(tmp_path):
    """pytest killed mid-run: the server's children (which run in sessions
    of their own) do not live on holding ports."""
    client, child = _served_sleeper(tmp_path)
    try:
        assert _alive(child)
        os.kill(client.pid, signal.SIGKILL)
        client.wait()
        assert _gone_within(child, 30)
    finally:
        if _alive(child):
            os.killpg(child, signal.SIGKILL)
        if client.poll() is None:
            os.killpg(client.pid, signal.SIGKILL)
            client.wait()


def test_stopping_the_server_ends_its_running_tools(tmp_path):
    client, child = _served_sleeper(tmp_path, 'stop')
    try:
        assert client.stdout.readline().strip() == 'stopped'
        assert not _alive(child)
    finally:
        if _alive(child):
            os.killpg(child, signal.SIGKILL)
        os.killpg(client.pid, signal.SIGKILL)
        client.wait()
