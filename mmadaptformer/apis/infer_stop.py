# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a ``tools/infer.py`` run stopped by Ctrl-C, SIGTERM or SIGHUP
leaves behind, for the one line it ends with.

A long run (a folder of thousands of videos) stopped with Ctrl-C ended
with a traceback of whatever it was running (a softmax inside mmaction2's
head), exit status -2, and did not say that nothing had been printed or
written, nor whether an ``--out`` file of an earlier run was still whole.
:func:`~mmadaptformer.utils.stop_signals.exit_on_stop` ends it with one
line instead, which :class:`InferStage` words from how far the run got,
and from the answers so far that
:class:`~mmadaptformer.apis.ModelInferencer` and
:class:`~mmadaptformer.apis.MultiTaskRecognizer` hand with the stop (the
tool prints and writes them).
"""
import os.path as osp
from typing import Optional, Tuple

__all__ = ['InferStage']

#: What a run stopped before any input was answered has printed and
#: written.
_NOTHING_YET = ('no result was printed or written (they come once every '
                'input is classified)')


class InferStage:
    """How far a ``tools/infer.py`` run got, and what stopping it now
    leaves (:meth:`left`)."""

    #: The stages, in their order: loading the models, classifying the
    #: inputs, printing the results, writing ``--out`` and done with that,
    #: drawing the results into ``--show-dir`` (last: the results are kept
    #: if a long drawing is stopped).
    STAGES = ('loading', 'classifying', 'printing', 'writing', 'written',
              'drawing')

    def __init__(self) -> None:
        self.stage = 'loading'
        self.out: Optional[str] = None
        self.show_dir: Optional[str] = None
        #: Whether ``out`` was there before this run wrote anything.
        self.out_existed = False
        #: ``(answered, inputs)`` once a stop cut the classifying short
        #: and the engine gave the answers so far.
        self.partial: Optional[Tuple[int, int]] = None
        #: Whether ``out`` was written.
        self.written = False

    def start(self, out: Optional[str], show_dir: Optional[str]) -> None:
        """Record the run's outputs, once its command line is read.

        Args:
            out (str, optional): The ``--out`` file; ``'-'`` for stdout,
                None without one.
            show_dir (str, optional): The ``--show-dir`` folder.
        """
        self.stage = 'loading'
        self.partial = None
        self.written = False
        self.out = out
        self.show_dir = show_dir
        self.out_existed = out not in (None, '-') and osp.exists(out)

    def reach(self, stage: str) -> None:
        """Record that the run has reached ``stage`` (one of
        :attr:`STAGES`)."""
        if stage not in self.STAGES:
            raise ValueError(f'stage {stage!r}: expected one of '
                             f'{", ".join(self.STAGES)}')
        self.stage = stage
        if stage == 'written':
            self.written = True

    def stopped_after(self, answered: int, inputs: int) -> None:
        """Record that a stop came after ``answered`` of the ``inputs``
        were classified, whose results the run then prints and writes."""
        self.partial = (answered, inputs)

    def left(self) -> str:
        """What the run leaves if it stops now, e.g. ``'no result was
        printed or written (...); results.json was not written (the file
        of that name from before is left as it was)'``."""
        if self.partial is not None:
            return self._partial_left()
        if self.stage in ('loading', 'classifying'):
            said = _NOTHING_YET
        elif self.stage == 'printing':
            said = 'the result lines were cut short'
        else:
            said = 'the results were printed'
        if self.out not in (None, '-'):
            said += (f' and written to {self.out}'
                     if self.written else f'; {self._not_written()}')
        if self.stage == 'drawing':
            said += f'; the drawings in {self.show_dir} were cut short'
        return said

    def _not_written(self) -> str:
        before = (' (the file of that name from before is left as it was)'
                  if self.out_existed else '')
        return f'{self.out} was not written{before}'

    def _partial_left(self) -> str:
        """What a run leaves that printed (and wrote) the answers given
        before the stop."""
        answered, inputs = self.partial
        said = (f'the results of the {answered} of {inputs} inputs classified '
                'before it were printed')
        if self.written:
            said += f' and written to {self.out}'
        elif self.out not in (None, '-'):
            said += f'; {self._not_written()}'
        if self.show_dir is not None:
            said += f'; nothing was drawn into {self.show_dir}'
        return f'{said}; the other {inputs - answered} were not classified'
