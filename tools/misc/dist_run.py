# Copyright (c) mmadaptformer contributors. All rights reserved.
"""torchrun, as ``tools/dist_train.sh`` and ``tools/dist_test.sh`` start
it, printing the workers' refusals once.

Same arguments as ``python -m torch.distributed.run``. A worker that
refuses bad input (a missing or broken video, a bad annotation line)
writes its one-line refusal into its torchrun error file
(``mmadaptformer.utils.launcher_parent.report_refusal``) and, started by
this launcher, prints nothing. When the job fails, this prints each
distinct refusal line once, instead of torchrun's ``ChildFailedError``
traceback and block, and ends with status 1. Where a worker failed any
other way (an exception with its traceback, which the worker printed
itself; a signal that is not torchrun's stop of the other workers),
torchrun's block is printed as before, and the refusal lines after it. A
job whose workers refused nothing fails exactly as under torchrun.

Only torch is imported here: the package's import takes seconds.
"""
import os
import signal
import sys
from typing import List, Sequence, Tuple

from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import parse_args, run

#: As ``mmadaptformer.utils.launcher_parent`` names them (a test checks).
REFUSAL_KEY = 'mmadaptformer_refusal'
LAUNCHER_PRINTS_REFUSALS = 'MMADAPTFORMER_LAUNCHER_PRINTS_REFUSALS'

#: How torchrun's agent stops the other workers once one failed.
_STOPPED = (-signal.SIGTERM, -signal.SIGKILL)


def refusal_lines(error: ChildFailedError) -> Tuple[List[str], bool]:
    """The distinct refusal lines of the failed workers, by rank, and
    whether a worker failed otherwise (not stopped by torchrun after
    another failed)."""
    lines: List[str] = []
    other = False
    for _, failure in sorted(error.failures.items()):
        data = failure.error_file_data
        line = data.get(REFUSAL_KEY) if isinstance(data, dict) else None
        if isinstance(line, str):
            if line not in lines:
                lines.append(line)
        elif failure.exitcode not in _STOPPED:
            other = True
    return lines, other


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
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
