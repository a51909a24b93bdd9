# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The pytest side of tool_server.py: the servers tools fork from."""
import atexit
import contextlib
import json
import os
import os.path as osp
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

from repo_paths import REPO_ROOT


class ServedProcess:
    """A tool run forked from the tool server, with the part of
    :class:`subprocess.Popen`'s interface that the tests use."""

    def __init__(self, server: '_ToolServer', args: List[str]):
        self._server = server
        self.args = args
        self.pid: Optional[int] = None
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        while self.returncode is None and self._server.pump(time.monotonic()):
            pass
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if not self._server.pump(deadline):
                raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def kill(self) -> None:
        """SIGKILL the process and its session."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class _ToolServer:
    """The client of ``tests/tool_server.py``: one server per pytest
    process, started on first use and restarted after anything unexpected."""

    def __init__(self, preload: Optional[Sequence[str]] = None):
        self.preload = preload  # None: the server's own PRELOAD
        self.proc = None
        self.buffer = b''
        self.running: Dict[int, ServedProcess] = {}
        self.next_id = 0

    def _start(self):
        self.log = tempfile.NamedTemporaryFile(
            prefix='tool_server_', suffix='.log', delete=False)
        # The socket of served torchrun workers and their PYTHON_EXEC.
        self.dir = tempfile.mkdtemp(prefix='tool_server_')
        self.socket = osp.join(self.dir, 'socket')
        self.python_exec = osp.join(self.dir, 'python')
        with open(self.python_exec, 'w') as f:
            f.write(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S '
                    f"{shlex.quote(osp.join(REPO_ROOT, 'tests'))}"
                    '/served_python.py "$@"\n')
        os.chmod(self.python_exec, 0o755)
        env = dict(os.environ)
        if self.preload is not None:
            from tool_server import PRELOAD_VARIABLE
            env[PRELOAD_VARIABLE] = ','.join(self.preload)
        self.proc = subprocess.Popen([
            sys.executable,
            osp.join(REPO_ROOT, 'tests', 'tool_server.py'), self.socket
        ],
                                     cwd=REPO_ROOT,
                                     env=env,
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self.log)
        self.buffer = b''
        self.running = {}
        if self._read(time.monotonic() + 300) is None:  # {"ready": pid}
            self.stop()
            raise RuntimeError('tests/tool_server.py did not start in 300 s')

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                # End of input: the server kills the children still
                # running (a left-over rank would hold its port), then
                # ends.
                self.proc.stdin.close()
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            os.unlink(self.log.name)
            shutil.rmtree(self.dir, ignore_errors=True)
        self.proc = None

    def _ensure_started(self):
        if self.proc is None or self.proc.poll() is not None:
            self._start()

    def torchrun_worker_env(self) -> Dict[str, str]:
        """The environment that makes torchrun fork its workers from this
        server (see ``tests/tool_server.py``); starts the server."""
        from served_python import SOCKET_VARIABLE
        self._ensure_started()
        return {'PYTHON_EXEC': self.python_exec, SOCKET_VARIABLE: self.socket}

    def _read(self, deadline: Optional[float]) -> Optional[dict]:
        """The server's next answer, or None at the deadline."""
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.buffer:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left < 0:
                left = 0
            if not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                self.log.flush()
                with open(self.log.name) as f:
                    tail = f.read()[-3000:]
                self.stop()
                raise RuntimeError(
                    f'tests/tool_server.py ended; its log:\n{tail}')
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b'\n', 1)
        return json.loads(line)

    def pump(self, deadline: Optional[float]) -> bool:
        """Take in one answer of the server; False if none came by the
        deadline."""
        answer = self._read(deadline)
        if answer is None:
            return False
        proc = self.running[answer['id']]
        if 'pid' in answer:
            proc.pid = answer['pid']
        else:
            proc.returncode = answer['returncode']
            del self.running[answer['id']]
        return True

    def start(self,
              cmd: List[str],
              cwd: str,
              env: Dict[str, str],
              output: str,
              error: Optional[str] = None) -> ServedProcess:
        self._ensure_started()
        proc = ServedProcess(self, cmd)
        self.next_id += 1
        self.running[self.next_id] = proc
        request = dict(
            id=self.next_id,
            script=cmd[1],
            argv=cmd[2:],
            cwd=cwd,
            env=env,
            output=output,
            error=error)
        self.proc.stdin.write(json.dumps(request).encode() + b'\n')
        self.proc.stdin.flush()
        deadline = time.monotonic() + 60
        while proc.pid is None:
            if not self.pump(deadline):
                self.stop()
                raise RuntimeError('tests/tool_server.py did not start '
                                   f'{cmd[1]} within 60 s')
        return proc

    def run(self,
            cmd: List[str],
            cwd: str,
            env: Dict[str, str],
            timeout: float,
            separate_stderr: bool = False) -> subprocess.CompletedProcess:
        """Run ``cmd`` and wait; stdout and stderr together (or apart,
        with ``separate_stderr``)."""
        with tempfile.NamedTemporaryFile(
                prefix='tool_output_', suffix='.log') as output, \
                (tempfile.NamedTemporaryFile(prefix='tool_error_',
                                             suffix='.log')
                 if separate_stderr else contextlib.nullcontext()) as error:
            proc = self.start(cmd, cwd, env, output.name,
                              error.name if error else None)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise subprocess.TimeoutExpired(
                    cmd, timeout, output=open(output.name).read())
            finally:
                if proc.returncode is None:  # a timeout or an interrupt
                    proc.kill()
                    proc.wait(60)
            text = open(output.name, errors='replace').read()
            errors = open(error.name, errors='replace').read() \
                if error else None
        return subprocess.CompletedProcess(cmd, proc.returncode, text, errors)


TOOL_SERVER = _ToolServer()
atexit.register(TOOL_SERVER.stop)
# Children of this one are as fresh as a new interpreter after `import
# torch`: for tests of what importing the package or the toolboxes does.
FRESH_SERVER = _ToolServer(preload=('torch', ))
atexit.register(FRESH_SERVER.stop)
