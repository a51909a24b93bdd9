# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The command line of a worker process of the benchmarks: a module of this
package run as ``__main__``, in a fresh Python process that imports this
very package.

They used to be started as ``python -m MODULE``, which puts the working
directory first on ``sys.path``: run from a folder holding another
``mmadaptformer`` (another checkout, an old copy), the training
benchmark's workers measured that folder's code while the parent printed
the table, and ``tools/gpu_check.sh`` ran that folder's checks (or none:
``No module named``). Here ``mmadaptformer`` is imported from the file the
starting process imported it from, before anything else; the rest of
``sys.path`` is as ``-m`` has it, so a config's ``custom_imports`` of a
module in the working directory still works.
"""
import os.path as osp
import subprocess
import sys
import threading
from typing import List

__all__ = [
    'PACKAGE_INIT', 'REFUSAL_KEY', 'worker_command', 'run_passing_stderr'
]

#: This package's ``__init__.py``, which the workers import.
PACKAGE_INIT = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), '__init__.py')

#: The key of a worker's output file that holds, instead of the
#: measurements, the message of the ``ConfigError`` it ended with (exit
#: status 1), for the starting process to end with as ``tools/train.py``
#: ends: one line, no traceback.
REFUSAL_KEY = 'config_error'

# argv: -c, PACKAGE_INIT, MODULE, the module's own arguments.
# SIGINT ends a worker at once, without a traceback: Ctrl-C reaches the
# whole process group, and the starting process, which reports the stop on
# one line and kills its worker, passes the worker's stderr on; a worker
# stopped while it imported the stack printed KeyboardInterrupt's
# traceback there. It writes nothing the starting process still needs. A
# worker started with SIGINT ignored (a background job's) keeps it ignored.
_BOOT = '; '.join([
    'import signal',
    'signal.getsignal(signal.SIGINT) == signal.SIG_IGN or '
    'signal.signal(signal.SIGINT, signal.SIG_DFL)',
    'import importlib.util, runpy, sys',
    'init, module = sys.argv.pop(1), sys.argv.pop(1)',
    'spec = importlib.util.spec_from_file_location("mmadaptformer", init)',
    'package = importlib.util.module_from_spec(spec)',
    'sys.modules["mmadaptformer"] = package',
    'spec.loader.exec_module(package)',
    'runpy.run_module(module, run_name="__main__", alter_sys=True)',
])


def worker_command(module: str) -> List[str]:
    """``python -m module`` with this package's ``mmadaptformer``, whatever
    the working directory holds; append the module's arguments.

    Args:
        module (str): A module of this package, e.g.
            ``'mmadaptformer.benchmark.worker'``.

    Returns:
        list[str]: The command, with the running interpreter.
    """
    if not module.startswith('mmadaptformer.'):
        raise ValueError(f'worker_command runs a module of mmadaptformer, '
                         f'got {module!r}')
    return [sys.executable, '-c', _BOOT, PACKAGE_INIT, module]


def run_passing_stderr(cmd: List[str]) -> subprocess.CompletedProcess:
    """Run ``cmd`` to its end, its stdout captured and each line of its
    stderr written to this process's stderr as it comes (a worker that
    loads tasks for minutes shows its warnings then, not at its end).

    Stopped (Ctrl-C, :class:`~mmadaptformer.utils.stop_signals.Stopped`),
    the process is killed before the exception goes on, as
    ``subprocess.run`` kills it.

    Args:
        cmd (list[str]): The command.

    Returns:
        subprocess.CompletedProcess: ``returncode``, ``stdout`` and
        ``stderr`` (all of it, as it was passed on).
    """
    lines: List[str] = []
    with subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors='replace') as proc:

        def pass_on() -> None:
            shown = True
            # Drained to the end whatever happens here: a worker whose
            # stderr pipe fills would block, and this tool with it.
            for line in proc.stderr:
                lines.append(line)
                if shown:
                    try:
                        sys.stderr.write(line)
                        sys.stderr.flush()
                    except (OSError, ValueError):
                        # This tool's stderr is closed (piped into head):
                        # nowhere to show it; it stays in ``stderr``.
                        shown = False

        passer = threading.Thread(target=pass_on, daemon=True)
        passer.start()
        try:
            stdout = proc.stdout.read()
            proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            # The pipe ends with the process (a grandchild that keeps it
            # open does not hold the tool for long).
            passer.join(timeout=5)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout,
                                       ''.join(lines))
