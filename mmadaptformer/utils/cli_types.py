# Copyright (c) mmadaptformer contributors. All rights reserved.
"""argparse types and checks the tools share (the ``--cfg-options`` action
is :class:`~.cfg_options.ConfigOptions`).

The tools' exit status follows one rule: 2 (``parser.error``) when the
command line cannot be used as given, found before the work starts and
with nothing written; 1 when something fails while running. A CONFIG that
cannot be read at all is the former (:func:`read_config_arg`).
"""
import argparse
import os.path as osp
from typing import Iterable, Optional, Tuple

from mmengine.config import Config

from .checkpoint_formats import TOOL_ORDER, not_a_checkpoint
from .config_error import ConfigError
from .config_loading import load_config_file
from .device_check import device_problem
from .local_files import is_local

__all__ = [
    'positive_int', 'non_negative_int', 'check_device', 'first_misplaced_file',
    'input_folder_problem', 'read_config_arg'
]


def positive_int(text: str) -> int:
    """An int of at least 1, e.g. ``type=positive_int``."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def non_negative_int(text: str) -> int:
    """An int of at least 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {value}')
    return value


def check_device(parser: argparse.ArgumentParser, device: str) -> None:
    """Refuse ``--device DEVICE`` if this machine does not have it, with
    ``parser.error`` (exit status 2), before any model loads (PyTorch would
    fail on the first tensor moved there).

    The refusal is :func:`~.device_check.device_problem`'s, as the APIs
    make it: a device this machine lacks is answered with the devices it
    has, so that the device offered is not refused in turn.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        device (str): The device given (``cpu``, ``cuda``, ``cuda:1``;
            another type PyTorch knows, such as ``mps``, where this
            machine has one).
    """
    problem = device_problem(device, advice='give')
    if problem is not None:
        parser.error(f'--device {device}: {problem}')


def read_config_arg(parser: argparse.ArgumentParser,
                    path: str,
                    order: str = TOOL_ORDER) -> Config:
    """The config a tool's CONFIG names, read with
    :func:`~.config_loading.load_config_file`; one it cannot read ends the
    tool with ``parser.error`` (exit status 2), as ``tools/infer.py`` ends:
    a file that is no config (a checkpoint given first: the files swapped),
    Python that does not parse, a ``_base_`` that does not exist, a dict
    over a base's other value. The line names the file and, where it can,
    the line. Mistakes of a config that was read (a key, a value, a type
    no registry holds) are not checked here: the tools end with them with
    exit status 1, as a failure of the run.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        path (str): The config file.
        order (str): The order the tool takes its files in, for a
            checkpoint given as the config. Defaults to
            :data:`~.checkpoint_formats.TOOL_ORDER`.

    Returns:
        Config: The config.
    """
    try:
        return load_config_file(path, order)
    except ConfigError as e:
        parser.error(str(e))


def input_folder_problem(path: str, name: str) -> Optional[str]:
    """The command-line error for a folder a tool reads (a data tool's
    ``ROOT``) that is not there or is a file, for ``parser.error`` (exit
    status 2, before anything is read or written); None if it is a folder.
    What the folder lacks is the tool's own finding while running.

    Args:
        path (str): The folder given.
        name (str): Its argument's name, e.g. ``'SPLIT_DIR'``.
    """
    if osp.isdir(path):
        return None
    what = 'it is a file, not a folder' if osp.exists(path) else \
        'no such folder'
    return f'{name} {path}: {what}'


def first_misplaced_file(files: Iterable[Tuple[Optional[str], str]],
                         order: str = TOOL_ORDER) -> Optional[str]:
    """``'WHAT PATH: it is a video file ..., not a checkpoint: ...'`` for
    the first local file of ``files``, each given as a checkpoint, that is
    plainly another of the tools' files (a config, a video, an image: see
    :func:`~.checkpoint_formats.not_a_checkpoint`), for ``parser.error``
    (exit status 2) before anything is loaded; else None.

    Args:
        files: ``(path, what)`` pairs, ``what`` naming the argument
            (``'checkpoint'``, ``'--pretrained'``); a pair whose path is
            None, an address or not a file is skipped.
        order (str): The order of files to name. Defaults to
            :data:`~.checkpoint_formats.TOOL_ORDER` (the tools').
    """
    for path, what in files:
        if path is None or not is_local(path) or not osp.isfile(path):
            continue
        kind = not_a_checkpoint(path, order)
        if kind:
            return f'{what} {path}: it is {kind}'
    return None
