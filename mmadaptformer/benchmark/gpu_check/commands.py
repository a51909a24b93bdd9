# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run the package's command-line tools from a check, with a time limit
that also ends the processes they start."""
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
from typing import List, Optional, Set, Tuple

from .workspace import REPO_ROOT

# Process groups of the tools running now, for stop_running_tools().
_RUNNING: Set[int] = set()


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick), for a run's
    rendezvous (``PORT`` of ``dist_train.sh``): a fixed number may be held
    by another job on the machine, which ``dist_train.sh`` then refuses."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def tool_env(extra: Optional[dict] = None) -> dict:
    """The environment of a tool run: this checkout's package first, and
    the shell tools' ``PYTHON`` (``dist_train.sh``'s interpreter, default
    ``python3``) this interpreter unless one is set."""
    env = dict(os.environ, **(extra or {}))
    env.setdefault('PYTHON', sys.executable)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    return env


def run_command(cmd: List[str],
                log_path: str,
                timeout: float,
                cwd: Optional[str] = None,
                env: Optional[dict] = None) -> Tuple[int, str]:
    """Run ``cmd`` in its own session; its output goes to ``log_path``.

    On timeout the whole session gets SIGTERM (torchrun passes it on to
    its workers, which run in sessions of their own), then SIGKILL after
    10 seconds.

    Args:
        cmd (list[str]): The command.
        log_path (str): Where stdout and stderr are written.
        timeout (float): Seconds.
        cwd (str, optional): Working directory. Defaults to None.
        env (dict, optional): Extra environment variables. Defaults to
            None.

    Returns:
        tuple[int, str]: The exit code (``-signal.SIGTERM`` on a timeout)
        and the output.
    """
    os.makedirs(osp.dirname(osp.abspath(log_path)), exist_ok=True)
    with open(log_path, 'w') as log:
        log.write(' '.join(cmd) + '\n')
        log.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=tool_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True)
        _RUNNING.add(proc.pid)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process_group(proc)
            code = -signal.SIGTERM
        finally:
            _RUNNING.discard(proc.pid)
    with open(log_path) as f:
        return code, f.read()


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group of ``proc`` (started with
    ``start_new_session=True``), SIGKILL it after 10 s, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def stop_running_tools() -> None:
    """SIGTERM the process groups of the tools :func:`run_command` runs
    now (torchrun passes it on to its workers). A check process calls it
    when the runner stops it, so no tool outlives its check."""
    for pgid in list(_RUNNING):
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def python_tool(script: str, *args) -> List[str]:
    """``python tools/<script> args...`` of this checkout."""
    return [sys.executable,
            osp.join(REPO_ROOT, 'tools', script)] + [str(a) for a in args]


def shell_tool(script: str, *args) -> List[str]:
    """``bash tools/<script> args...`` of this checkout."""
    return ['bash', osp.join(REPO_ROOT, 'tools', script)
            ] + [str(a) for a in args]
