# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What ``tools/infer.py`` says for a model or ``--task`` that could not be
loaded: the error naming what caused it (:func:`load_error`), as lines on
stderr (:func:`load_error_lines`), and, when nothing could be loaded, that
nothing was classified or written (:func:`nothing_loaded_line`)."""
from typing import Optional

from mmadaptformer.engine import refusal_line
from mmadaptformer.models import FrozenBackboneMismatchError
from mmadaptformer.utils import ConfigError, PretrainedFileError
from mmadaptformer.utils.control_characters import escape_controls
from .multitask_tasks import TaskError, TaskLoadError
from .pretrained_load import PretrainedLoadError

__all__ = [
    'FIRST_TASK_HINT', 'load_error', 'load_error_lines', 'nothing_loaded_line'
]

#: What a first --task whose pretrained file failed is told: the order of
#: the --task options decides which config's file builds the backbone.
FIRST_TASK_HINT = (
    ' As the first --task loaded, its config\'s pretrained file builds the '
    'one frozen backbone every task runs on; a later --task with an '
    'adapter-only checkpoint does not read its own (its adapters are '
    'checked against the shared backbone instead): give first a --task '
    'whose pretrained file is there.')


def _said_of(line: str, path: str) -> str:
    """``Type: PATH is ...`` as ``Type: it is ...``: the line that
    ``path`` starts already names the file."""
    kind, sep, message = line.partition(': ')
    if sep and path and message.startswith(f'{path} '):
        return f'{kind}: it {message[len(path) + 1:]}'
    return line


def load_error(exc: Exception,
               config: str,
               checkpoint: str,
               pretrained,
               task: bool = False) -> str:
    """One line for a model that could not be loaded, naming what caused
    it: the config for a mistake in it (or a file it names, as the files
    the command line names exist), the pretrained file (``--pretrained``
    or the config's) for a wrong or damaged one, else the checkpoint. A
    task's own refusals name the task and the cause themselves. For a
    ``--task`` (``task=True``) trained on another backbone, the advice is
    a run of its own: ``--pretrained`` would change every task's
    backbone.

    Args:
        exc (Exception): What loading raised.
        config (str): The model's config file.
        checkpoint (str): Its checkpoint file.
        pretrained (str, optional): The ``--pretrained`` file, None
            without one.
        task (bool): Whether the model is a ``--task``. Defaults to False.

    Returns:
        str: The line, without the ``task NAME: ERROR`` that the tool
        puts before it.
    """
    if isinstance(exc, TaskLoadError):
        exc = exc.__cause__
    if task and isinstance(exc, FrozenBackboneMismatchError) \
            and not exc.named_backbone:
        weights = exc.trained_on or 'BACKBONE.pth'
        return (f'{checkpoint}: {type(exc).__name__}: {exc} Every --task '
                'is served on one frozen backbone, which --pretrained names '
                'for all of them: serve this task in a run of its own, '
                f'tools/infer.py {config} {checkpoint} INPUT ... '
                f'--pretrained {weights}.')
    if isinstance(exc, PretrainedLoadError):
        role = '--pretrained' if pretrained is not None else \
            f'{exc.key} in {config}'
        return (f'{exc.path} (the pretrained backbone, {role}): '
                f'{_said_of(refusal_line(exc.__cause__), exc.path)}')
    line = refusal_line(exc)
    if isinstance(exc, (ConfigError, FileNotFoundError)):
        return line if config in line else f'{config}: {line}'
    if isinstance(exc, PretrainedFileError):  # names the file
        return line
    if isinstance(exc, TaskError):  # names the task and what refused it
        return line
    return f'{checkpoint}: {line}'


def load_error_lines(name: str, message: str, task: bool) -> str:
    """The error of a model or ``--task`` that could not be loaded, as
    stderr shows it: ``model NAME: ERROR ...`` (``task NAME: ...`` for a
    ``--task``), a detail list of the message (a state dict's keys) on
    lines of its own, each line's control characters escaped (it names
    the user's files).

    Args:
        name (str): The model's name in the results (the config's stem),
            or the ``--task`` name.
        message (str): :func:`load_error`'s message.
        task (bool): Whether it is a ``--task``.

    Returns:
        str: The lines, joined by newlines.
    """
    what = 'task' if task else 'model'
    return '\n'.join(
        escape_controls(line)
        for line in f'{what} {name}: ERROR {message}'.split('\n'))


def nothing_loaded_line(task: bool,
                        out: Optional[str],
                        out_existed: bool,
                        show_dir: Optional[str] = None) -> str:
    """What a run says when its model (every ``--task``) could not be
    loaded: nothing was classified, printed or written. An ``--out`` file
    of per-input errors would read as if each input had been tried.

    Args:
        task (bool): Whether the run gave ``--task``.
        out (str, optional): The ``--out`` file, ``'-'`` for stdout, None
            without one.
        out_existed (bool): Whether a file ``out`` was there before the
            run.
        show_dir (str, optional): The ``--show-dir`` folder.

    Returns:
        str: The line.
    """
    what = 'no --task could be loaded' if task else \
        'the model could not be loaded'
    said = f'Nothing was classified: {what} (the error above); no result ' \
        'was printed'
    if out == '-':
        said += ' (stdout holds no JSON)'
    elif out is not None:
        before = (' (the file of that name from before is left as it was)'
                  if out_existed else '')
        said += f'; {out} was not written{before}'
    if show_dir is not None:
        said += f'; nothing was drawn into {show_dir}'
    return said + '.'
