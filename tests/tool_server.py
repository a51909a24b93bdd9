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

Protocol, one JSON object a line: the client writes
``{"script", "argv", "cwd", "env", "output"}``; the server answers
``{"pid"}`` once the child runs, then ``{"returncode"}`` when it ends (a
negative number for a signal, as :mod:`subprocess` reports it).
"""
import json
import os
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


def main() -> None:
    import gc
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    # Children then leave the imported objects' pages shared instead of
    # copying them when their garbage collector walks them.
    gc.freeze()
    answer = sys.stdout
    answer.write(json.dumps(dict(ready=os.getpid())) + '\n')
    answer.flush()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_child(request)
        answer.write(json.dumps(dict(pid=pid)) + '\n')
        answer.flush()
        _, status = os.waitpid(pid, 0)
        answer.write(
            json.dumps(dict(returncode=os.waitstatus_to_exitcode(status))) +
            '\n')
        answer.flush()


if __name__ == '__main__':
    main()
