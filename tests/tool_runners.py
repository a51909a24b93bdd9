# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Runs of the tools in subprocesses, as a user starts them."""
import os
import os.path as osp
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Dict, List, Optional

from repo_paths import REPO_ROOT, TOOLS
from tool_server_client import FRESH_SERVER, TOOL_SERVER, ServedProcess


def _tool_cmd(args: List[str]) -> List[str]:
    script = osp.join(TOOLS, args[0])
    return (['bash', script] if script.endswith('.sh') else
            [sys.executable, script]) + [str(a) for a in args[1:]]


def _tool_env(env: Optional[Dict[str, str]]) -> Dict[str, str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault('OMP_NUM_THREADS', '1')
    return full_env


def run_tool(args: List[str],
             cwd: str,
             env: Optional[Dict[str, str]] = None,
             timeout: int = 300,
             check: bool = True,
             fresh: bool = False,
             separate_stderr: bool = False) -> subprocess.CompletedProcess:
    """Run ``tools/<args[0]>`` the way a user does, from a shell.

    A Python tool runs as a child process forked from a server that has
    imported the stack once (``tests/tool_server.py``), which saves the
    imports' seconds per run; ``fresh=True`` starts a new interpreter, for
    tests of what happens while it imports. A ``.sh`` tool always starts
    fresh. Its stdout and stderr come back together in ``stdout``, or
    apart with ``separate_stderr=True``.
    """
    cmd = _tool_cmd(args)
    full_env = _tool_env(env)
    if fresh or cmd[0] == 'bash':
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if separate_stderr else subprocess.STDOUT,
            text=True,
            timeout=timeout)
    else:
        proc = TOOL_SERVER.run(cmd, str(cwd), full_env, timeout,
                               separate_stderr)
    _check(proc, check)
    return proc


def run_python_command(cmd: List[str], cwd: str, env: Dict[str, str],
                       timeout: float) -> subprocess.CompletedProcess:
    """Run ``[sys.executable, SCRIPT, args...]`` as :func:`run_tool` runs a
    Python tool: forked from the tool server, in a session of its own,
    killed (with what it started) on the timeout."""
    assert cmd[0] == sys.executable and cmd[1].endswith('.py'), cmd
    return TOOL_SERVER.run(cmd, str(cwd), env, timeout)


def _check(proc: subprocess.CompletedProcess, check: bool) -> None:
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(proc.args)} exited '
                             f'{proc.returncode}:\n{proc.stdout[-6000:]}'
                             f'{(proc.stderr or "")[-6000:]}')


def start_tool(args: List[str],
               cwd: str,
               output: str,
               env: Optional[Dict[str, str]] = None) -> ServedProcess:
    """Start the Python tool ``tools/<args[0]>`` as :func:`run_tool` runs
    it, without waiting for it; its stdout and stderr go to ``output``.
    It runs in a session of its own (``os.killpg(proc.pid, ...)`` reaches
    it and whatever it starts)."""
    assert args[0].endswith('.py'), f'{args[0]}: not a Python tool'
    return TOOL_SERVER.start(
        _tool_cmd(args), str(cwd), _tool_env(env), str(output))


def start_ranks(args: List[str],
                nproc: int,
                cwd: str,
                port: int,
                outputs: List[str],
                env: Optional[Dict[str, str]] = None) -> List[ServedProcess]:
    """Start ``tools/<args[0]> ... --launcher pytorch`` as ``nproc`` ranks
    of a CPU DDP run (gloo), the way torchrun starts its workers: one
    process per rank with ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
    ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set, each in a
    session of its own, rank ``r`` writing to ``outputs[r]``. The ranks are
    forked from the tool server, which saves a launcher and ``nproc``
    interpreters' imports; the launcher itself (``dist_train.sh``, torchrun)
    has tests of its own."""
    procs = []
    for rank in range(nproc):
        rank_env = dict(
            env or {},
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(nproc),
            LOCAL_WORLD_SIZE=str(nproc),
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port))
        procs.append(
            start_tool(
                list(args) + ['--launcher', 'pytorch'], cwd, outputs[rank],
                rank_env))
    return procs


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick): one call for
    each run a test starts that listens on a port (its ranks' or torchrun's
    rendezvous, ``PORT`` of the dist scripts). A fixed port, or ``port +
    1``, may be held by another test's job under ``pytest -n 2``."""
    import socket
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def dist_train_refusal(args: List[str],
                       cwd: str,
                       line: str,
                       env: Optional[Dict[str, str]] = None) -> str:
    """Run ``tools/dist_train.sh`` with ``args`` (on a free port, with
    ``env`` added to the environment) and check that it ends as one
    refusal: exit status 2, ``train.py: error: LINE`` printed once (not
    once per rank), no traceback and no torchrun ``ChildFailedError``
    block. Returns what it printed."""
    proc = run_tool(
        ['dist_train.sh'] + list(args),
        cwd=cwd,
        env=dict(env or {}, PORT=str(free_port())),
        timeout=400,
        check=False)
    out = proc.stdout
    assert proc.returncode == 2, out[-3000:]
    assert out.count(f'train.py: error: {line}') == 1, out[-3000:]
    assert 'Traceback' not in out and 'ChildFailedError' not in out, \
        out[-3000:]
    return out


def run_ranks(args: List[str],
              nproc: int,
              cwd: str,
              port: int,
              env: Optional[Dict[str, str]] = None,
              timeout: int = 300,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run :func:`start_ranks` to the end of every rank. ``stdout`` holds
    the ranks' output, rank 0's first; ``returncode`` is the first non-zero
    exit code of a rank, or 0. On the timeout every rank is killed."""
    with tempfile.TemporaryDirectory(prefix='ranks_') as tmp:
        outputs = [osp.join(tmp, f'rank{r}.log') for r in range(nproc)]
        procs = start_ranks(args, nproc, cwd, port, outputs, env)
        deadline = time.monotonic() + timeout
        try:
            for proc in procs:
                proc.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            output = _read_all(outputs)
            # pytest shows a test's captured output, not the exception's:
            # where the ranks stood when they were killed.
            print(f'The ranks ran past {timeout} s; their output (the '
                  f'last 8000 characters):\n{output[-8000:]}')
            raise subprocess.TimeoutExpired(
                procs[0].args, timeout, output=output)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(60)
        codes = [p.returncode for p in procs if p.returncode != 0]
        result = subprocess.CompletedProcess(procs[0].args,
                                             codes[0] if codes else 0,
                                             _read_all(outputs))
    _check(result, check)
    return result


def _read_all(paths: List[str]) -> str:
    return ''.join(
        open(p, errors='replace').read() for p in paths if osp.exists(p))


def run_fresh_python(
        code: str,
        *args,
        cwd: str = REPO_ROOT,
        env: Optional[Dict[str, str]] = None,
        timeout: float = 300,
        separate_stderr: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -c CODE ARGS`` in a process that has imported nothing
    but torch: a child of a server that imported torch alone (4.6 of the
    7 to 12 CPU-seconds a new interpreter spends before such a test's first
    check). ``sys.argv[1:]`` is ``args``; stdout and stderr come back apart,
    or together in ``stdout`` with ``separate_stderr=False``.
    """
    with tempfile.TemporaryDirectory(prefix='fresh_python_') as folder:
        script = osp.join(folder, 'code.py')
        with open(script, 'w') as f:
            f.write(textwrap.dedent(code))
        return FRESH_SERVER.run(
            [sys.executable, script] + [str(a) for a in args],
            str(cwd),
            _tool_env(env),
            timeout,
            separate_stderr=separate_stderr)


def torchrun_worker_env() -> Dict[str, str]:
    """``PYTHON_EXEC`` and the socket that make torchrun fork its workers
    from the tool server (see ``tests/tool_server.py``)."""
    return TOOL_SERVER.torchrun_worker_env()
