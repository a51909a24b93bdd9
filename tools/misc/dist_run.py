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

This launcher sees the workers of its own node only: a multi-node job
prints a refusal once per node.

Only torch is imported here, and ``torchrun_error_file.py`` by its path:
the package's import takes seconds.
"""
import importlib.util
import os
import os.path as osp
import signal
import sys
from typing import List, Sequence, Tuple

from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import parse_args, run


def _torchrun_error_file():
    """``mmadaptformer/utils/torchrun_error_file.py`` of this checkout,
    loaded without the package's ``__init__``."""
    path = osp.join(
        osp.dirname(osp.abspath(__file__)), '..', '..', 'mmadaptformer',
        'utils', 'torchrun_error_file.py')
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


def refusal_lines(error: ChildFailedError) -> Tuple[List[str], bool]:
    """The distinct refusals of the failed workers, by rank, and whether a
    worker failed otherwise (not stopped by torchrun after another
    failed)."""
    lines: List[str] = []
    other = False
    for _, failure in sorted(error.failures.items()):
        line = _refusal(failure)
        if line is not None:
            if line not in lines:
                lines.append(line)
        elif failure.exitcode not in _STOPPED:
            other = True
    return lines, other


def _refusal(failure):
    """The refusal a failed worker wrote; None if it wrote none."""
    data = failure.error_file_data
    line = data.get(REFUSAL_KEY) if isinstance(data, dict) else None
    return line if isinstance(line, str) else None


def exit_status(error: ChildFailedError) -> int:
    """2 if every worker that refused ended with the tools' status for a
    command line they cannot use, else 1. A worker that torchrun stopped
    after its refusal was written does not count."""
    codes = {
        failure.exitcode
        for failure in error.failures.values()
        if _refusal(failure) is not None and failure.exitcode not in _STOPPED
    }
    return _USAGE if codes == {_USAGE} else 1


def main(argv: Sequence[str]) -> int:
    """Run torchrun with ``argv``; the exit status."""
    os.environ[LAUNCHER_PRINTS_REFUSALS] = '1'
    try:
        # Not torchrun's main: its @record logs that it has no error file
        # of its own to copy a worker's into.
        run(parse_args(list(argv)))
    except ChildFailedError as error:
        lines, other = refusal_lines(error)
        if not lines:
            raise
        if other:
            print(f'{type(error).__name__}: {error}', file=sys.stderr)
        for line in lines:
            print(line, file=sys.stderr)
        return 1 if other else exit_status(error)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
