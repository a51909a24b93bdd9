# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A tool's refusal under the multi-process launchers, printed once.

Every rank of a ``tools/dist_*.sh`` or ``tools/slurm_*.sh`` run meets the
same refusal (a command-line error, a config the tool refuses). Under
torchrun the refusal goes into the worker's error file and
``tools/misc/dist_run.py`` prints it once for all ranks
(:func:`~.torchrun_error_file.report_refusal`); in a SLURM job the first
rank of each node prints it (:func:`~.slurm_refusals.
leave_refusal_to_first_rank`). :class:`~.cli_types.ToolArgumentParser`
and :func:`~mmadaptformer.engine.refusals.refusals_exit` end through
:func:`leave_refusal_to_launcher`.
"""
from .slurm_refusals import leave_refusal_to_first_rank
from .torchrun_error_file import report_refusal

__all__ = ['leave_refusal_to_launcher']


def leave_refusal_to_launcher(text: str, tool: str) -> bool:
    """Leave a tool's refusal to what prints it once for all ranks.

    Under torchrun, ``text`` goes into the worker's error file. Unless
    ``tools/misc/dist_run.py`` prints it from there, a task of a
    ``tools/slurm_*.sh`` job other than the first of its node says on one
    line that it refused and waits for the first rank's refusal to end
    the job; elsewhere this returns at once.

    Args:
        text (str): The refusal, as the tool would print it.
        tool (str): The tool's name, e.g. ``'train.py'``.

    Returns:
        bool: True when the launcher prints ``text``: the caller ends with
        its status without printing it. False: the caller prints it (a
        SLURM rank, after its wait, when the job did not end).
    """
    if report_refusal(text):
        return True
    leave_refusal_to_first_rank(tool)
    return False
