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
tool prints them, and writes them beside ``--out``:
:func:`partial_results_path`), both through :func:`keep_answers`.
"""
import os.path as osp
from typing import Iterable, Mapping, Optional, Tuple

__all__ = ['InferStage', 'partial_results_path', 'keep_answers']

#: What a run stopped before any input was answered has printed and
#: written.
_NOTHING_YET = ('no result was printed or written (they come once every '
                'input is classified)')


def keep_answers(stop: BaseException,
                 answers: Mapping,
                 num_inputs: int,
                 bar=None) -> None:
    """Give a stop (Ctrl-C, a tool's stop signal) in a long call what was
    answered, so that the caller can keep it (``stop.results``,
    ``stop.num_inputs``), and end the progress bar's unfinished line, so
    that what the caller prints next (the results so far) starts a line of
    its own.

    Args:
        stop (BaseException): The ``KeyboardInterrupt`` or ``Stopped``.
        answers (Mapping): The answers so far, by input, in input order.
        num_inputs (int): The inputs of the call.
        bar (ProgressBar, optional): The call's progress bar. Defaults to
            None.
    """
    stop.results = answers
    stop.num_inputs = num_inputs
    if bar is not None:
        bar.file.write('\n')
        bar.file.flush()


def partial_results_path(out: str) -> str:
    """Where a stopped run writes the results it has so far: beside the
    ``--out`` file, ``.partial`` before its extension (``results.json`` ->
    ``results.partial.json``), so that tools still open it as JSON.

    Never ``out`` itself: a rerun stopped after 2 of 3000 inputs replaced
    the complete ``results.json`` of an earlier run with 2 answers, which
    a script reading it could not tell from a whole run's.

    Args:
        out (str): The ``--out`` file.

    Returns:
        str: The partial results file.
    """
    root, ext = osp.splitext(out)
    return f'{root}.partial{ext}'


def _has_error(answers: dict) -> bool:
    """Whether an input's answers hold an error (the input's own, or a
    task's)."""
    return 'error' in answers or any(
        isinstance(answer, dict) and 'error' in answer
        for answer in answers.values())


class InferStage:
    """How far a ``tools/infer.py`` run got, and what stopping it now
    leaves (:meth:`left`)."""

    #: The stages, in their order: loading the models, classifying the
    #: inputs, printing the results and done with that, writing ``--out``
    #: (a stopped run's results: :func:`partial_results_path`) and done
    #: with that, drawing the results into ``--show-dir`` (last: the
    #: results are kept if a long drawing is stopped).
    STAGES = ('loading', 'classifying', 'printing', 'printed', 'writing',
              'written', 'drawing')

    def __init__(self) -> None:
        self.stage = 'loading'
        self.out: Optional[str] = None
        self.show_dir: Optional[str] = None
        #: Whether ``out`` was there before this run wrote anything.
        self.out_existed = False
        #: ``(answered, inputs, with_error)`` once a stop cut the
        #: classifying short and the engine gave the answers so far.
        self.partial: Optional[Tuple[int, int, int]] = None
        #: Whether the results file (:meth:`results_file`) was written.
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

    def stopped_after(self,
                      results: dict,
                      inputs: int,
                      failed_tasks: Iterable[str] = ()) -> None:
        """Record that a stop came after the ``results`` of some of the
        ``inputs`` were given, which the run then prints and writes to
        :meth:`results_file`, not to ``--out``.

        Args:
            results (dict): ``{input: answers}`` so far, an error among
                them counted apart.
            inputs (int): How many inputs the run had.
            failed_tasks (Iterable[str]): The tasks that could not be
                loaded: every input holds their error.
        """
        with_error = len(results) if any(failed_tasks) else sum(
            _has_error(answers) for answers in results.values())
        self.partial = (len(results), inputs, with_error)

    def results_file(self) -> Optional[str]:
        """The file the results are written to: ``--out``, or beside it
        (:func:`partial_results_path`) for a stopped run's; None without
        one (no ``--out``, or ``--out -``)."""
        if self.out in (None, '-'):
            return None
        return self.out if self.partial is None else \
            partial_results_path(self.out)

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
        """What a run leaves that printed (and wrote, beside ``--out``)
        the answers given before the stop, as far as it got."""
        answered, inputs, with_error = self.partial
        results = (f'the {answered} of {inputs} inputs answered before it')
        if with_error:
            results += f' ({with_error} of them with an error)'
        if self.stage == 'printing':
            # A second stop cut the printing short.
            said = f'the result lines of {results} were cut short'
        elif self.out == '-':
            # The JSON on stdout reads like a whole run's: said here.
            said = (f'the results of {results} were printed to stdout as '
                    'JSON, which holds no other input')
        else:
            said = f'the results of {results} were printed'
        partial = self.results_file()
        if partial is not None:
            said += (f' and written to {partial}'
                     if self.written else f'; {partial} was not written')
            # The complete results of an earlier run are never replaced.
            said += f'; {self._not_written()}'
        if self.show_dir is not None:
            said += f'; nothing was drawn into {self.show_dir}'
        return f'{said}; the other {inputs - answered} were not classified'
