# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The line ``tools/infer.py --task`` says once per task for the inputs it
skipped (another task's kind: a video for a task that reads extracted
frames, a clip folder for one that decodes videos), counting those another
task answered apart from those that got an error from every task that
reads them (:class:`SkippedInputs`)."""
from typing import Dict, List, Tuple

__all__ = ['SkippedInputs']


def _answered(answer: dict) -> bool:
    return 'error' not in answer and 'skipped' not in answer


class SkippedInputs:
    """Each task's skipped inputs, in the order they were added, and
    whether another task answered each."""

    def __init__(self) -> None:
        self._skips: Dict[str, List[Tuple[str, bool]]] = {}

    def add(self, name: str, answers: dict) -> None:
        """Count ``answers[name]`` (a ``{"skipped": why}``) for task
        ``name``; ``answers`` holds every task's answer for the input.

        Args:
            name (str): The task that skipped the input.
            answers (dict): ``{task: answer}`` for the input.
        """
        answered = any(
            _answered(answer) for other, answer in answers.items()
            if other != name)
        self._skips.setdefault(name, []).append(
            (answers[name]['skipped'], answered))

    def lines(self) -> List[str]:
        """One line per task that skipped inputs: how many, and, where
        not every one was answered by another task, how many were and how
        many got an error; with the first one's reason.

        Returns:
            list[str]: The lines, unescaped (they name inputs).
        """
        lines = []
        for name, skips in self._skips.items():
            answered = sum(1 for _, ok in skips if ok)
            failed = len(skips) - answered
            if not failed:
                which = 'which another task answered'
            else:
                counts = [f'{failed} with an error']
                if answered:
                    counts.insert(0, f'{answered} answered')
                which = f'which another task took ({", ".join(counts)})'
            inputs = 'input' if len(skips) == 1 else 'inputs'
            lines.append(f'task {name}: skipped {len(skips)} {inputs} of a '
                         f'kind its test pipeline does not read, {which}: '
                         f'e.g. {skips[0][0]}')
        return lines
