# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A Python that has imported the stack once and forks one child process per
tool run (``helpers.run_tool``).

Starting a tool from a shell costs about 7 s of CPU on the 2-core CI machine
before its first line runs: importing torch, MMEngine, MMAction2,
MMPretrain and this package. The suite runs tools more than a hundred times,
so it pays that once per pytest process here instead. Each run is still a
real process of its own, as a user's is: its own pid, working directory,
environment, ``sys.argv``, file descriptors 1 and 2, exit code and fresh
random state; a kill (or a crash) takes only the child. What it shares with
its siblings is the state the imports left, which is exactly what a fresh
interpreter has after the tool's own ``import`` lines, since the tools import
the same modules first. Tests about what happens *during* those imports run a
fresh interpreter instead (``run_tool(..., fresh=True)``, or their own
``subprocess.run``).

Several tools can run at once (a training run and another one to be
killed beside it, or the ranks of a distributed run).

Protocol, one JSON object a line: the client writes
``{"id", "script", "argv", "cwd", "env", "output"}``; the server answers
``{"id", "pid"}`` once the child runs, then ``{"id", "returncode"}`` when
it ends (a negative number for a signal, as :mod:`subprocess` reports it).
"""
import json
import os
import selectors
import sys

# What every tool imports before its first line runs (mmadaptformer first:
# it closes mmaction2's missing-DRN gap that `import mmaction.models` hits).
PRELOAD = ('torch', 'mmadaptformer', 'mmengine.runner', 'mmaction.models',
           'mmaction.datasets', 'mmpretrain.models', 'mmpretrain.datasets')


def _run_child(request: dict) -> None:
    """Become the tool's process; never returns."""
    code = 1
    try:
        os.setsid()  # a timeout kills the tool's workers too
        out = os.open(request['output'], os.O_WRONLY | os.O_CREAT
                      | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.close(null)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, 'w', closefd=False)
        sys.stderr = open(2, 'w', closefd=False)
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
    script = request['script']
    # sys.path as `python SCRIPT` has it: the script's folder, then
    # PYTHONPATH, then what the server had after its own first entry.
    extra = [
        p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p
    ]
    sys.path[:] = [os.path.dirname(os.path.abspath(script))] + extra + \
        [p for p in sys.path[1:] if p not in extra]
    sys.argv = [script] + list(request['argv'])
    threads = os.environ.get('OMP_NUM_THREADS')
    torch.set_num_threads(int(threads) if threads else os.cpu_count())
    # A new process's random state, not a copy of the server's.
    seed = int.from_bytes(os.urandom(4), 'little')
    random.seed(seed)
    np.random.seed(seed)
    torch.seed()
    try:
        runpy.run_path(script, run_name='__main__')
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


def _start_child(request: dict, selector: selectors.BaseSelector) -> None:
    """Fork the child of ``request``; watch its pidfd with ``selector``."""
    pid = os.fork()
    if pid == 0:
        for other in list(selector.get_map().values()):
            if other.data is not None:  # a sibling's pidfd
                os.close(other.fd)
        selector.close()
        _run_child(request)
    selector.register(
        os.pidfd_open(pid), selectors.EVENT_READ, (request['id'], pid))
    _answer(id=request['id'], pid=pid)


def main() -> None:
    import gc
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    # Children then leave the imported objects' pages shared instead of
    # copying them when their garbage collector walks them.
    gc.freeze()
    _answer(ready=os.getpid())
    # Requests on stdin and, per running child, a pidfd that becomes
    # readable when the child ends.
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    pending = b''
    while True:
        for key, _ in selector.select():
            if key.data is not None:  # a child ended
                request_id, pid = key.data
                selector.unregister(key.fd)
                os.close(key.fd)
                _, status = os.waitpid(pid, 0)
                _answer(
                    id=request_id,
                    returncode=os.waitstatus_to_exitcode(status))
                continue
            chunk = os.read(0, 1 << 16)
            if not chunk:  # the client is gone
                return
            pending += chunk
            while b'\n' in pending:
                line, pending = pending.split(b'\n', 1)
                _start_child(json.loads(line), selector)


if __name__ == '__main__':
    main()
