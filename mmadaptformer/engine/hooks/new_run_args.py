# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``tools/train.py`` arguments that the resume messages advise for a
new run from a checkpoint's weights.

A run writes its ``epoch_N.pth`` (``iter_N.pth``) and ``last_checkpoint``
into its work dir. A new run from ``<work_dir>/epoch_2.pth`` with the same
config, or the same ``--work-dir``, writes its own ``epoch_2.pth`` over
the file it loaded. So every advised new run names a work dir of its own,
beside the resumed run's and named for the file it starts from.
"""
from mmengine.runner import Runner

from mmadaptformer.utils.new_work_dir_name import new_work_dir_name

__all__ = ['checkpoint_file', 'new_run_args', 'new_work_dir']


def checkpoint_file(source: str) -> str:
    """``source`` where it is a file to put on a command line, else
    ``FILE``.

    Args:
        source (str): The resumed checkpoint, or a description of it
            (:func:`~.resume_state_check.resumed_source`).

    Returns:
        str: The file, or ``FILE``.
    """
    return source if source.endswith('.pth') else 'FILE'


def new_work_dir(runner: Runner, source: str) -> str:
    """The work dir for a new run from ``source``: the resumed run's, with
    ``_from_<file name>`` added (``work_dirs/x_from_epoch_2``;
    :func:`~mmadaptformer.utils.new_work_dir_name.new_work_dir_name`).

    Args:
        runner (Runner): The resuming runner.
        source (str): The resumed checkpoint, or a description of it.

    Returns:
        str: A folder beside the run's work dir, never the folder that
        holds ``source``.
    """
    file = checkpoint_file(source)
    return new_work_dir_name(runner.work_dir, None if file == 'FILE' else file)


def new_run_args(runner: Runner, source: str) -> str:
    """``--work-dir NEW --cfg-options load_from=FILE``: the start of the
    ``tools/train.py`` arguments of a new run from ``source``'s weights,
    in a work dir of its own (:func:`new_work_dir`), so that its
    checkpoints never replace the one it loads.

    Args:
        runner (Runner): The resuming runner.
        source (str): The resumed checkpoint, or a description of it.

    Returns:
        str: The arguments; more ``--cfg-options`` may follow.
    """
    return (f'--work-dir {new_work_dir(runner, source)} --cfg-options '
            f'load_from={checkpoint_file(source)}')
