# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a training or test run stopped by Ctrl-C leaves, for the one line
``tools/train.py`` and ``tools/test.py`` end with (:func:`end_on_ctrl_c`).

A stopped run ended with a ``KeyboardInterrupt`` traceback of whatever it
was doing (a video decode in a dataloader), which said neither where it
stopped nor, in training, that ``--resume`` goes on from its newest
checkpoint.
"""
import signal
from typing import Callable, Optional, Sequence, TypeVar, Union

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
    """``'in epoch 3, iteration 9 of the run'`` (``'while validating
    after epoch 3'``), as far as the run's ``RuntimeInfoHook`` recorded it
    in the message hub before the stop."""
    hub = runner.message_hub
    epoch, done = hub.get_info('epoch'), hub.get_info('iter')
    if done is None:
        return 'before its first iteration'
    # Training has started: its loop is built. An IterBasedTrainLoop
    # counts no epochs.
    by_epoch = isinstance(runner.train_loop, EpochBasedTrainLoop)
    if hub.get_info('loop_stage') == 'val':
        after = f'epoch {epoch + 1}' if by_epoch else f'iteration {done + 1}'
        return f'while validating after {after}'
    where = f'iteration {done + 1} of the run'
    if by_epoch:
        where = f'epoch {epoch + 1}, {where}'
    return f'in {where}'


#: What :func:`end_on_ctrl_c` asks where the run stopped.
_Stage = Union[TrainStage, TestStage]


def end_on_ctrl_c(prog: str, work: Callable[[_Stage], T], stage: _Stage) -> T:
    """Run ``work(stage)``, a tool's work that tells ``stage`` how far it
    got; Ctrl-C (SIGINT) ends the process with one line, ``stage.left()``,
    and exit status 130, not a traceback; every file written is kept.

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
        prog, lambda: work(stage), stage.left, signals=[signal.SIGINT])
