# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A stopped ``tools/infer.py`` run's ``NAME.partial.json``, once a later
run of the same ``--out NAME.json`` is complete.

A stopped run writes its answers beside ``--out``
(:func:`~.infer_stop.partial_results_path`). A later complete run wrote
``NAME.json`` and left the partial file beside it, so a user could not
tell which of the two was current. The complete run now removes it
(:func:`remove_stale_partial`), but only when its content is the results
that infer.py writes (:func:`is_infer_results`): a user's own file of that
name is left as it is.
"""
import json
import os
import stat
from typing import Any, Optional

from .infer_stop import partial_results_path

__all__ = ['is_infer_results', 'remove_stale_partial']

#: The keys of one task's answer for an input: its scores, its error, or
#: that it skipped the input (another task's kind).
_ANSWERS = ({'label', 'class', 'scores'}, {'error'}, {'skipped'})
#: The largest partial file read to recognise it (some 100 bytes a class
#: score: a stopped run of many inputs and classes writes megabytes).
_MAX_READ = 1 << 30


def _is_answer(answer: Any) -> bool:
    return isinstance(answer, dict) and set(answer) in _ANSWERS


def is_infer_results(results: Any) -> bool:
    """Whether ``results`` (read from JSON) is what infer.py writes to
    ``--out``: ``{input: answers}``, each ``answers`` either the input's
    own ``{"error": ...}`` or ``{task: answer}``, each answer ``{"label",
    "class", "scores"}``, ``{"error"}`` or ``{"skipped"}``.

    Args:
        results (Any): The file's JSON.

    Returns:
        bool: True for infer.py's results (of at least one input).
    """
    if not isinstance(results, dict) or not results:
        return False
    for answers in results.values():
        if not isinstance(answers, dict) or not answers:
            return False
        if set(answers) == {'error'} and isinstance(answers['error'], str):
            continue
        if not all(_is_answer(answer) for answer in answers.values()):
            return False
    return True


def remove_stale_partial(out: str) -> Optional[str]:
    """Remove the stopped run's results beside ``out``
    (``NAME.partial.json``) after a complete run wrote ``out``.

    Only a regular file (not a link) whose content is infer.py's results
    (:func:`is_infer_results`) is removed; anything else of that name is
    left, unsaid.

    Args:
        out (str): The ``--out`` file the complete run wrote.

    Returns:
        str, optional: The line to say: that it was removed, or why it
        could not be; None when nothing of infer.py's was there.
    """
    partial = partial_results_path(out)
    try:
        info = os.lstat(partial)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_READ:
        return None
    try:
        with open(partial, encoding='utf-8') as f:
            results = json.load(f)
    except (OSError, ValueError):
        # Unreadable or not JSON: not a file infer.py wrote whole.
        return None
    if not is_infer_results(results):
        return None
    what = (f'the partial results of an earlier stopped run; {out} holds '
            "this run's complete results")
    try:
        os.remove(partial)
    except OSError as e:
        return (f'Could not remove {partial} ({e.strerror}), {what}: '
                'delete it yourself')
    return f'Removed {partial}, {what}'
