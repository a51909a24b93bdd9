# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which loaded tasks a call of a
:class:`~mmadaptformer.apis.MultiTaskRecognizer` answers: its ``tasks``
argument checked against the tasks loaded."""
from typing import Iterable, List, Optional, Sequence, Sized, Union

__all__ = ['chosen_tasks', 'check_names']


def chosen_tasks(tasks: Optional[Union[str, Sequence[str]]],
                 loaded: List[str]) -> List[str]:
    """The loaded tasks that ``tasks`` names, each once, in its order.

    Args:
        tasks (str | Sequence[str], optional): A task name, several, or
            None for all.
        loaded (list[str]): The loaded tasks, in the order they were added.

    Raises:
        TypeError: If ``tasks`` is neither a name nor an iterable.
        KeyError: If a task is not loaded.
        ValueError: If ``tasks`` names none.
    """
    if tasks is None:
        return list(loaded)
    named = isinstance(tasks, (str, Iterable))
    if not named or isinstance(tasks, (bytes, bytearray)):
        raise TypeError(
            f'tasks={tasks!r}: expected a task name, a list of them, or '
            f'None for all; the loaded tasks are {loaded}.')
    # One name, not its letters: 'ab' would choose tasks a and b.
    names = [tasks] if isinstance(tasks, str) else list(tasks)
    names = list(dict.fromkeys(names))
    if not names:
        # As given (tasks=() was called tasks=[]); a generator by kind.
        given = repr(tasks) if isinstance(tasks, Sized) else \
            f'an empty {type(tasks).__name__}'
        raise ValueError(f'tasks={given} chooses no task; give some of '
                         f'{loaded}, or None for all.')
    check_names(names, loaded)
    return names


def check_names(names: Sequence[str], loaded: List[str]) -> None:
    """Raise ``KeyError`` naming the loaded tasks if one of ``names`` is
    not loaded."""
    unknown = [n for n in names if n not in loaded]
    if unknown:
        raise KeyError(f'Unknown tasks {unknown}; the loaded tasks are '
                       f'{loaded}.')
