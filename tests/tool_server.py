# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A Python that has imported the stack once and forks one child process per
tool run (``helpers.run_tool``).

Starting a tool from a shell costs 7 to 11 s of CPU on the 2-core CI
machine before its first line runs (11.5 s for ``tools/train.py --help``,
measured 2026-12-02): importing torch, MMEngine, MMAction2, MMPretrain and
this package. The suite runs tools more than a hundred times,
so it pays that once per pytest process here instead. Each run is still a
real process of its own, as a user's is: its own pid, working directory,
environment, ``sys.argv``, file descriptors 1 and 2, exit code and fresh
random state; a kill (or a crash) takes only the child. What it shares with
its siblings is the state the imports left, which is exactly what a fresh
interpreter has after the tool's own ``import`` lines, since the tools import
the same modules first. Tests about what happens *during* those imports run
in a child of a second server that has imported torch alone
(``helpers.run_fresh_python``; the environment variable
``TOOL_SERVER_PRELOAD`` names what a server imports), or in a fresh
interpreter (``run_tool(..., fresh=True)``).

Several tools can run at once (a training run and another one to be
killed beside it, or the ranks of a distributed run).

Protocol, one JSON object a line: the client writes
``{"id", "script", "argv", "cwd", "env", "output"}`` (and optionally
``"error"``, a file for stderr apart from stdout); the server answers
``{"id", "pid"}`` once the child runs, then ``{"id", "returncode"}`` when
it ends (a negative number for a signal, as :mod:`subprocess` reports it).

torchrun's workers are served too. ``torchrun`` (``dist_train.sh``) starts
each worker as ``$PYTHON_EXEC -u SCRIPT ARGS`` (torch's own variable), and
the tests set ``PYTHON_EXEC`` to ``tests/served_python.py``: a small stand-in
process that connects to the server's Unix socket (``argv[1]``), hands over
its file descriptors 0, 1 and 2 with ``{"script" or "module", "argv",
"cwd", "env", "unbuffered"}``, and gets ``{"pid"}`` and then
``{"returncode"}`` back. The server forks the worker with those
descriptors. The stand-in passes the signals torchrun sends on to the
worker's session and ends as the worker ended; if the stand-in dies (a
SIGKILL of the job), its connection closes and the server SIGKILLs the
worker's session. Where a test also sets ``PYTHON`` to the stand-in,
``dist_train.sh``'s ``$PYTHON tools/misc/dist_run.py`` (torchrun) is served
the same way. torchrun's own code, rendezvous and monitoring
run unchanged either way.
"""
import json
import os
import selectors
import signal
import socket
import sys

# What every tool imports before its first line runs (mmadaptformer first:
# it closes mmaction2's missing-DRN gap that `import mmaction.models` hits).
PRELOAD = ('torch', 'mmadaptformer', 'mmengine.runner', 'mmaction.models',
           'mmaction.datasets', 'mmpretrain.models', 'mmpretrain.datasets')
# Comma-separated modules to import instead (e.g. `torch` for the server of
# the tests about what importing the package does).
PRELOAD_VARIABLE = 'TOOL_SERVER_PRELOAD'


def _run_child(request: dict, fds=None) -> None:
    """Become the tool's process; never returns. Its standard streams are
    ``fds`` (a served torchrun worker's) or ``/dev/null``,
    ``request['output']`` and ``request['error']`` (default: the output)."""
    code = 1
    try:
        os.setsid()  # a timeout kills the tool's workers too
        if fds is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            out = os.open(request['output'], flags, 0o644)
            err = os.open(request['error'], flags,
                          0o644) if request.get('error') else out
            fds = [os.open(os.devnull, os.O_RDONLY), out, err]
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in set(fds) - {0, 1, 2}:
            os.close(fd)
        # -u, as torchrun starts its workers: no buffered output is lost
        # when a worker ends with os._exit or a signal.
        buffering = 1 if request.get('unbuffered') else -1
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, 'w', buffering=buffering, closefd=False)
        sys.stderr = open(2, 'w', buffering=buffering, closefd=False)
        code = _run_script(request)
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # what Python prints for an uncaught exception
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        try:
            import atexit
            atexit._run_exitfuncs()  # e.g. logging.shutdown, as at exit
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _run_script(request: dict) -> int:
    import random
    import runpy

    import numpy as np
    import torch

    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    # sys.path as `python SCRIPT` (the script's folder first) or `python -m
    # MODULE` (the working directory first) has it, then PYTHONPATH, then
    # what the server had after its own first entry.
    module = request.get('module')
    first = os.getcwd() if module else os.path.dirname(
        os.path.abspath(request['script']))
    extra = [
        p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p
    ]
    sys.path[:] = [first] + extra + \
        [p for p in sys.path[1:] if p not in extra]
    sys.argv = [module or request['script']] + list(request['argv'])
    threads = os.environ.get('OMP_NUM_THREADS')
    torch.set_num_threads(int(threads) if threads else os.cpu_count())
    # A new process's random state, not a copy of the server's.
    seed = int.from_bytes(os.urandom(4), 'little')
    random.seed(seed)
    np.random.seed(seed)
    torch.seed()
    try:
        if module:
            runpy.run_module(module, run_name='__main__', alter_sys=True)
        else:
            runpy.run_path(request['script'], run_name='__main__')
    except SystemExit as exc:
        return _exit_code(exc)
    return 0


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _answer(**fields) -> None:
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()


def _start_child(request: dict,
                 selector: selectors.BaseSelector,
                 fds=None) -> int:
    """Fork the child of ``request`` (with standard streams ``fds``, see
    :func:`_run_child`); watch its pidfd with ``selector``."""
    pid = os.fork()
    if pid == 0:
        # Not the listener, the stand-ins' connections, siblings' pidfds.
        for key in list(selector.get_map().values()):
            if isinstance(key.fileobj, socket.socket):
                key.fileobj.close()
            elif key.fd != 0:
                os.close(key.fd)
        selector.close()
        _run_child(request, fds)
    selector.register(
        os.pidfd_open(pid), selectors.EVENT_READ, ('child', request, pid))
    return pid


def _serve_worker(listener: socket.socket, selector: selectors.BaseSelector,
                  served: dict) -> None:
    """Take one request of ``tests/served_python.py`` (its descriptors 0-2
    come with it) and fork the worker."""
    conn, _ = listener.accept()
    conn.settimeout(60)
    # Registered before the fork, so that the worker does not keep it open.
    selector.register(conn, selectors.EVENT_READ, ('request', ))
    fds = []
    try:
        data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        while data and not data.endswith(b'\n'):
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            data += chunk
        if len(fds) != 3 or not data.endswith(b'\n'):
            raise ConnectionError(
                f'incomplete request ({len(data)} bytes, {len(fds)} fds)')
        pid = _start_child(json.loads(data), selector, fds)
    except (OSError, ValueError) as e:  # the stand-in went away, or a bug
        print(f'tool_server: dropped a worker request: {e!r}', file=sys.stderr)
        selector.unregister(conn)
        conn.close()
        return
    finally:
        for fd in fds:
            os.close(fd)
    served[pid] = conn
    selector.modify(conn, selectors.EVENT_READ, ('stand-in', pid))
    try:
        conn.sendall(json.dumps(dict(pid=pid)).encode() + b'\n')
    except OSError:
        pass  # the stand-in died: its connection reads as closed next


def _child_ended(key: selectors.SelectorKey, selector: selectors.BaseSelector,
                 served: dict) -> None:
    _, request, pid = key.data
    selector.unregister(key.fd)
    os.close(key.fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    conn = served.pop(pid, None)
    if conn is not None:
        selector.unregister(conn)
        try:
            conn.sendall(json.dumps(dict(returncode=code)).encode() + b'\n')
        except OSError:
            pass  # the stand-in is gone; nobody waits for the code
        conn.close()
    elif 'id' in request:
        _answer(id=request['id'], returncode=code)


def _stand_in_gone(key: selectors.SelectorKey,
                   selector: selectors.BaseSelector, served: dict) -> None:
    """The stand-in of a running worker closed its connection (it sends
    nothing after its request): it died, so the worker goes too."""
    _, pid = key.data
    conn = served.pop(pid)
    selector.unregister(conn)
    conn.close()
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _end_children(selector: selectors.BaseSelector) -> None:
    """SIGKILL the session of every child still running and reap it.

    The client (pytest) is gone, killed or ended: nobody will read these
    children's exit codes, and a left-over rank would hold its rendezvous
    port and fail the next run's distributed tests."""
    for key in list(selector.get_map().values()):
        if key.data[0] != 'child':
            continue
        pid = key.data[2]
        # Its session, and the child itself: one just forked may not have
        # made its session yet (killpg then finds no group).
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)


def main() -> None:
    import gc
    import importlib
    preload = os.environ.get(PRELOAD_VARIABLE)
    for name in preload.split(',') if preload else PRELOAD:
        importlib.import_module(name)
    # Children then leave the imported objects' pages shared instead of
    # copying them when their garbage collector walks them.
    gc.freeze()
    # Requests on stdin and, per running child, a pidfd that becomes
    # readable when the child ends; with a socket path (argv[1]), requests
    # of served torchrun workers and their stand-ins' connections too.
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, ('stdin', ))
    if len(sys.argv) > 1:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(sys.argv[1])
        listener.listen(64)
        selector.register(listener, selectors.EVENT_READ, ('listener', ))
    served = {}
    _answer(ready=os.getpid())
    pending = b''
    while True:
        for key, _ in selector.select():
            kind = key.data[0]
            if kind == 'child':
                _child_ended(key, selector, served)
            elif kind == 'listener':
                _serve_worker(key.fileobj, selector, served)
            elif kind == 'stand-in':
                _stand_in_gone(key, selector, served)
            else:
                chunk = os.read(0, 1 << 16)
                if not chunk:  # the client is gone
                    _end_children(selector)
                    return
                pending += chunk
                while b'\n' in pending:
                    line, pending = pending.split(b'\n', 1)
                    request = json.loads(line)
                    pid = _start_child(request, selector)
                    _answer(id=request['id'], pid=pid)


if __name__ == '__main__':
    main()
