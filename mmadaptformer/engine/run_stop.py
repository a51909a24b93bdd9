# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a training or test run stopped by Ctrl-C (or SIGTERM, SIGHUP)
leaves, for the one line ``tools/train.py`` and ``tools/test.py`` end with
(:func:`~mmadaptformer.utils.stop_signals.exit_on_stop`).

A stopped run ended with a ``KeyboardInterrupt`` traceback of whatever it
was doing (a video decode in a dataloader), which said neither where it
stopped nor, in training, that ``--resume`` goes on from its newest
checkpoint.
"""
from typing import Optional, Sequence

from mmengine.runner import EpochBasedTrainLoop

from .resume import local_checkpoint_dir, newest_checkpoints

__all__ = ['TrainStage', 'TestStage']


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
