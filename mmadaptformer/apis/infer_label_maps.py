# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py``'s ``--label-map``: one FILE names one model's
classes; with ``--task``, ``NAME=FILE`` names task NAME's, once per task
(:func:`split_label_maps`)."""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

__all__ = ['label_map_role', 'split_label_maps']


def label_map_role(task: str) -> str:
    """How the command line's label map of ``task`` is named in errors."""
    return f'--label-map of task {task}'


def split_label_maps(
        words: Optional[Sequence[str]],
        tasks: Sequence[str]) -> Tuple[Optional[str], Dict[str, str]]:
    """The label map of one model, or those of the tasks, from the words
    given to ``--label-map``.

    Args:
        words (Sequence[str], optional): The ``--label-map`` values, in
            the order given; None if there is none.
        tasks (Sequence[str]): The ``--task`` names; empty for one model.

    Returns:
        tuple: ``(file, {})`` for one model (``file`` None without
        ``--label-map``), ``(None, {task: file})`` with ``--task``.

    Raises:
        ValueError: With the command line's error: one model given two
            files, or a ``NAME=FILE`` (that is no file of that name); with
            ``--task``, a FILE without ``NAME=``, a NAME that is no task's,
            or a task given two files.
    """
    words = list(words or [])
    if not tasks:
        if len(words) > 1:
            raise ValueError(
                f'--label-map is given {len(words)} times, but one model '
                'takes one file (--label-map NAME=FILE, one per task, is for '
                '--task)')
        for word in words:
            name, sep, path = word.partition('=')
            # A file whose name holds "=" is taken as it is.
            if sep and name and path and not osp.exists(word) and \
                    osp.sep not in name:
                raise ValueError(
                    f'--label-map {word}: NAME=FILE names the classes of '
                    f'the --task NAME, and no --task is given; for the one '
                    f'model give the file alone, --label-map {path}')
        return (words[0] if words else None), {}
    names = ', '.join(tasks)
    maps: Dict[str, str] = {}
    for word in words:
        # Task names have no "=" (check_task_name), so a file may.
        name, sep, path = word.partition('=')
        if not sep:
            raise ValueError(
                f'--label-map {word}: with --task, say which task it names '
                f'the classes of, --label-map NAME={word} (the tasks: '
                f'{names})')
        if name not in tasks:
            raise ValueError(f'--label-map {word}: there is no --task '
                             f'{name!r}; the tasks are {names}')
        if name in maps:
            raise ValueError(
                f'--label-map {word}: task {name} is given two label maps '
                f'({maps[name]} and {path}); give it one')
        maps[name] = path
    return None, maps
