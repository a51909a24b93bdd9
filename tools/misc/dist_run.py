# Copyright (c) mmadaptformer contributors. All rights reserved.
"""torchrun, as ``tools/dist_train.sh`` and ``tools/dist_test.sh`` start
it, printing the workers' refusals once.

Same arguments as ``python -m torch.distributed.run``. A worker that
refuses bad input (a missing or broken video, a bad annotation line) or
its command line (``parser.error``: a bad ``--cfg-options``, a missing
``--pretrained`` file) writes its refusal into its torchrun error file
(``mmadaptformer.utils.torchrun_error_file.report_refusal``) and, started
by this launcher, prints nothing. When the job fails, this prints each
distinct refusal once, instead of torchrun's ``ChildFailedError``
traceback and block, and ends with status 2 if every refusal was of the
command line (the tools' status for it), 1 otherwise. Where a worker
failed any other way (an exception with its traceback, which the worker
printed itself; a signal that is not torchrun's stop of the other
workers), torchrun's block is printed as before, and the refusals after
it. A job whose workers refused nothing fails exactly as under torchrun.

Ctrl-C (SIGINT to the terminal's foreground process group: this
launcher, not the workers, which torchrun starts in sessions of their own)
ends the job with the one line of the node's first worker, which says
where the run stopped and how ``--resume`` goes on, and exit status 130.
torchrun's agent passes the SIGINT on to the workers, waits for them
(SIGKILL after 30 s), and raises its ``SignalException``: that traceback,
the agent's warnings that it got and passed on the SIGINT, and the other
workers' copies of the line are left out. A SIGKILL after the 30 s still
prints torchrun's warning. SIGTERM is torchrun's as before.

This launcher sees the workers of its own node only: a multi-node job
prints a refusal once per node.

Only torch is imported here, and ``torchrun_error_file.py`` by its path
(found without importing the package, whose import takes seconds).
"""
import importlib.util
import logging
import os
import os.path as osp
import signal
import sys
from typing import List, NamedTuple, Sequence

from torch.distributed import DistNetworkError
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import parse_args, run


def _torchrun_error_file():
    """``mmadaptformer/utils/torchrun_error_file.py`` of the package that
    the workers import (the checkout's, which ``dist_train.sh`` puts first
    on ``PYTHONPATH``, else the installed one: ``tools/`` may be a copy
    outside any checkout), loaded without the package's ``__init__``."""
    # find_spec of a top-level package locates it without running it.
    spec = importlib.util.find_spec('mmadaptformer')
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f'{sys.argv[0]}: mmadaptformer is not installed for '
                 f'{sys.executable}: install it (pip install -e CHECKOUT) '
                 'or run the tools of its checkout')
    path = osp.join(spec.submodule_search_locations[0], 'utils',
                    'torchrun_error_file.py')
    if not osp.isfile(path):
        sys.exit(f'{sys.argv[0]}: {path} is not there: the mmadaptformer '
                 f'that {sys.executable} imports is not the package (a '
                 'folder of that name first on PYTHONPATH?)')
    spec = importlib.util.spec_from_file_location('torchrun_error_file', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_error_file = _torchrun_error_file()
REFUSAL_KEY = _error_file.REFUSAL_KEY
LAUNCHER_PRINTS_REFUSALS = _error_file.LAUNCHER_PRINTS_REFUSALS

#: The tools' exit status for a command line they cannot use.
_USAGE = 2

#: How torchrun's agent stops the other workers once one failed.
_STOPPED = (-signal.SIGTERM, -signal.SIGKILL)


class Refusals(NamedTuple):
    """What the failed workers of a job refused, read in one walk.

    Args:
        lines (list[str]): The distinct refusals, by rank.
        other (bool): Whether a worker failed otherwise (not stopped by
            torchrun after another failed).
        status (int): The job's exit status: 2 if every worker that
            refused ended with the tools' status for a command line they
            cannot use, else 1 (1 too where a worker failed otherwise). A
            worker that torchrun stopped after its refusal was written
            does not count.
    """
    lines: List[str]
    other: bool
    status: int


def read_refusals(error: ChildFailedError) -> Refusals:
    """The refusals of the failed workers of ``error`` and the job's exit
    status (see :class:`Refusals`)."""
    lines: List[str] = []
    other = False
    codes = set()
    for _, failure in sorted(error.failures.items()):
        line = _refusal(failure)
        stopped = failure.exitcode in _STOPPED
        if line is None:
            other = other or not stopped
            continue
        if line not in lines:
            lines.append(line)
        if not stopped:
            codes.add(failure.exitcode)
    status = _USAGE if codes == {_USAGE} and not other else 1
    return Refusals(lines, other, status)


def _refusal(failure):
    """The refusal a failed worker wrote; None if it wrote none."""
    data = failure.error_file_data
    line = data.get(REFUSAL_KEY) if isinstance(data, dict) else None
    return line if isinstance(line, str) else None


#: The agent's warnings of a Ctrl-C: the message and the position of its
#: signal among the arguments.
_CTRL_C_WARNINGS = {
    'Received %s death signal, shutting down workers': 0,
    'Sending process %s closing signal %s': 1,
}

#: The exit status of a job stopped by Ctrl-C, as the shell's.
_CTRL_C_STATUS = 128 + signal.SIGINT


def _not_ctrl_c_warning(record: logging.LogRecord) -> bool:
    """False for torchrun's warnings that it got Ctrl-C and passes it on
    to its workers (a logging filter)."""
    at = _CTRL_C_WARNINGS.get(record.msg)
    if at is None or not isinstance(record.args, tuple):
        return True
    sent = record.args[at]
    return sent not in (signal.SIGINT, 'SIGINT')


def report_port_in_use(error: DistNetworkError, argv: Sequence[str]) -> bool:
    """Print ``tools/misc/dist_port.sh``'s line for a PORT in use, if
    ``error`` is torchrun's failure to listen on ``--master_port``
    (``EADDRINUSE``): two jobs started together on one PORT both passed
    that check, and the second ended in torchrun's traceback of about 40
    lines.

    Args:
        error (DistNetworkError): What torchrun's agent raised.
        argv (Sequence[str]): This launcher's arguments.

    Returns:
        bool: Whether it was that failure, and the line was printed.
    """
    if 'EADDRINUSE' not in str(error):
        return False
    args = parse_args(list(argv))
    # The script that started this launcher: dist_train.sh for train.py.
    tool = osp.splitext(osp.basename(args.training_script))[0]
    script = osp.join(osp.dirname(args.training_script), f'dist_{tool}.sh')
    port = args.master_port
    print(
        f'{osp.basename(script)}: PORT {port} is in use on this machine '
        '(another job?); set PORT to a free one, e.g. '
        f'PORT={port + 1} {script} ...',
        file=sys.stderr)
    return True


def main(argv: Sequence[str]) -> int:
    """Run torchrun with ``argv``; the exit status."""
    os.environ[LAUNCHER_PRINTS_REFUSALS] = '1'
    for name in ('torch.distributed.elastic.agent.server.api',
                 'torch.distributed.elastic.multiprocessing.api'):
        logging.getLogger(name).addFilter(_not_ctrl_c_warning)
    try:
        # Not torchrun's main: its @record logs that it has no error file
        # of its own to copy a worker's into.
        run(parse_args(list(argv)))
    except SignalException as stop:
        if stop.sigval != signal.SIGINT:
            raise
        # The workers got it, and the first of them said where it stopped.
        return _CTRL_C_STATUS
    except KeyboardInterrupt:
        # Before torchrun started the workers (and its own handler).
        print(
            f'{osp.basename(sys.argv[0])}: stopped by Ctrl-C (SIGINT): '
            'before its workers started',
            file=sys.stderr)
        return _CTRL_C_STATUS
    except DistNetworkError as error:
        # Another job took PORT after dist_port.sh found it free.
        if not report_port_in_use(error, argv):
            raise
        return _USAGE
    except ChildFailedError as error:
        refusals = read_refusals(error)
        if not refusals.lines:
            raise
        if refusals.other:
            print(f'{type(error).__name__}: {error}', file=sys.stderr)
        for line in refusals.lines:
            print(line, file=sys.stderr)
        return refusals.status
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
