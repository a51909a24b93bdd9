# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a training or test run stopped by Ctrl-C leaves, for the one line
``tools/train.py`` and ``tools/test.py`` end with (:func:`end_on_ctrl_c`).

A stopped run ended with a ``KeyboardInterrupt`` traceback of whatever it
was doing (a video decode in a dataloader), which said neither where it
stopped nor, in training, that ``--resume`` goes on from its newest
checkpoint.
"""
import os
import signal
from typing import Callable, Optional, Sequence, TypeVar, Union

from mmengine.hooks import RuntimeInfoHook
from mmengine.runner import EpochBasedTrainLoop

from mmadaptformer.utils.stop_signals import exit_on_stop
from .resume import local_checkpoint_dir, newest_checkpoints

__all__ = ['TrainStage', 'TestStage', 'end_on_ctrl_c']

T = TypeVar('T')


class TrainStage:
    """How far a training run got: before its Runner, or the Runner's
    epoch and iteration (as its ``RuntimeInfoHook`` last recorded them in
    the message hub) and the newest checkpoint in its work dir.

    Examples:
        >>> stage = TrainStage()
        >>> stage.left()
        'before training started: nothing was trained'
    """

    def __init__(self) -> None:
        self.runner = None

    def reach(self, runner) -> None:
        """The run has its Runner (its work dir and log are made)."""
        self.runner = runner

    def left(self) -> str:
        """Where the run stopped, what it keeps and how to go on; cheap (it
        runs once the stop came): nothing is loaded or built."""
        runner = self.runner
        if runner is None:
            return 'before training started: nothing was trained'
        where = _progress(runner)
        work_dir = runner.work_dir
        checkpoint_dir = local_checkpoint_dir(runner.cfg)
        if checkpoint_dir is None:
            return (f'{where}; its files are kept: add --resume to the same '
                    'command to go on from the newest checkpoint it saved '
                    'to its remote out_dir, if any')
        # The one --resume goes on from, found as --resume finds it.
        newest = next(iter(newest_checkpoints(work_dir, checkpoint_dir)), None)
        if newest is None:
            return (f'{where}; no checkpoint was saved in {checkpoint_dir}: '
                    'the same command starts the run again')
        return (f'{where}; its files are kept, the newest checkpoint is '
                f'{newest}: add --resume to the same command to go on from '
                'it')


class TestStage:
    """How far a test run got: before its Runner or testing, and the files
    it writes only once every input is tested.

    Args:
        outputs (Sequence[str]): The files written at the end (``--out``,
            ``--dump``); None entries (not given) are skipped. Defaults to
            ``()``.

    Examples:
        >>> TestStage(['results.pkl', None]).left()
        'before testing started: nothing was written'
    """

    def __init__(self, outputs: Sequence[Optional[str]] = ()) -> None:
        self.outputs = [path for path in outputs if path is not None]
        self.runner = None

    def reach(self, runner) -> None:
        """The run has its Runner (its work dir and log are made)."""
        self.runner = runner

    def left(self) -> str:
        """What the stopped run has not written."""
        if self.runner is None:
            return 'before testing started: nothing was written'
        if not self.outputs:
            return ('while testing: its metrics come only once every input '
                    'is tested')
        return (f'while testing: its metrics, and {" and ".join(self.outputs)}'
                ', come only once every input is tested')


def _progress(runner) -> str:
    """Where training stopped, read from MMEngine's own counters:
    ``'in epoch 2 of 3, with 2 of the run\'s 6 iterations done'``,
    ``'while validating after epoch 1 of 3'``; an ``IterBasedTrainLoop``
    counts no epochs (``'with 3 of the run\'s 5 iterations done'``).

    The loop's ``epoch`` counts the epochs done before the current one and
    ``iter`` the iterations done, over the whole run (a resumed run's
    count the checkpoint's): an iteration counts once its hooks ended (its
    ``after_train_iter`` checkpoint too). The message hub's ``epoch`` and
    ``iter`` (``RuntimeInfoHook``) say which one *started* last, and a
    resumed run loads them stale from the checkpoint: read so, a run
    stopped between epochs, loading the next epoch's first batch, was "in
    epoch 2, iteration 2" with 2 iterations done.
    """
    hub = runner.message_hub
    # Set by the loop's before_train or loaded by a resume, both once the
    # Runner built its train loop: before that, reading runner.train_loop
    # would build it (its dataloader).
    if hub.get_info('loop_stage') is None and hub.get_info('iter') is None:
        return 'before its first iteration'
    loop = runner.train_loop
    by_epoch = isinstance(loop, EpochBasedTrainLoop)
    if _validating(runner):
        # The loop counted the epoch (iteration) validation comes after.
        if by_epoch:
            return f'while validating after epoch {loop.epoch} of ' \
                f'{loop.max_epochs}'
        return f'while validating after iteration {loop.iter} of ' \
            f'{loop.max_iters}'
    done = f"with {loop.iter} of the run's {loop.max_iters} iterations done"
    if by_epoch:
        return f'in epoch {loop.epoch + 1} of {loop.max_epochs}, {done}'
    return done


def _validating(runner) -> bool:
    """Whether the train loop is validating now: the message hub's
    ``loop_stage`` is ``'val'``, set by MMEngine's ``RuntimeInfoHook`` in
    ``before_val``, which kept the ``'train'`` stage to go back to.

    The stage alone is not enough: a resume loads the checkpoint's, and
    with ``save_best`` MMEngine saves the epoch (iteration) checkpoint
    again during validation, once a score is the best; until the loop's
    ``before_train`` sets ``'train'``, a run resumed from it read as
    "while validating".
    """
    if runner.message_hub.get_info('loop_stage') != 'val':
        return False
    return any(
        isinstance(hook, RuntimeInfoHook)
        and getattr(hook, 'last_loop_stage', None) == 'train'
        for hook in runner.hooks)


#: What :func:`end_on_ctrl_c` asks where the run stopped.
_Stage = Union[TrainStage, TestStage]


def end_on_ctrl_c(prog: str, work: Callable[[_Stage], T], stage: _Stage) -> T:
    """Run ``work(stage)``, a tool's work that tells ``stage`` how far it
    got; Ctrl-C (SIGINT) ends the process with one line, ``stage.left()``,
    and exit status 130, not a traceback; every file written is kept.

    Of the workers of a distributed run, which torchrun (or a terminal,
    or ``srun``) stops together, only each node's first (``LOCAL_RANK``
    0) prints the line: every worker printed the same one.

    SIGTERM keeps its default, an end at once: torchrun stops the other
    workers of a failed job with it and reads -SIGTERM as stopped
    (``tools/misc/dist_run.py``), and a worker waiting in a collective
    would run no Python handler before torchrun's SIGKILL 30 s later.

    Args:
        prog (str): The tool's name, e.g. ``'train.py'``.
        work (Callable): The tool's work, given ``stage``.
        stage (TrainStage | TestStage): Says where the run stopped.

    Returns:
        What ``work`` returns.
    """
    return exit_on_stop(
        prog,
        lambda: work(stage),
        lambda: stage.left() if _prints_the_line() else None,
        signals=[signal.SIGINT])


def _prints_the_line() -> bool:
    """Whether this process is the one of its node that says where the
    run stopped: torchrun sets ``LOCAL_RANK``, and the tools set it
    otherwise (:func:`~mmadaptformer.utils.dist.set_local_rank`: srun's
    ``SLURM_LOCALID`` under ``--launcher slurm``, Open MPI's
    ``OMPI_COMM_WORLD_LOCAL_RANK`` under ``mpi``, else ``--local-rank``)."""
    return os.environ.get('LOCAL_RANK', '0') == '0'
