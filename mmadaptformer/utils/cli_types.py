# Copyright (c) mmadaptformer contributors. All rights reserved.
"""argparse types and checks the tools share (the ``--cfg-options`` action
is :class:`~.cfg_options.ConfigOptions`).

The tools' exit status follows one rule: 2 (``parser.error``) when the
command line cannot be used as given, found before the work starts and
with nothing written; 1 when something fails while running. A CONFIG that
cannot be read at all is the former (:func:`read_config_arg`), and so are
the input files that are not there or are given in each other's place,
checked in one order by every tool (:func:`refuse_input_files`), and a data
tool's folder that is not there (:func:`refuse_data_folders`), and a
``--launcher`` given twice with different values
(:func:`add_launcher_argument`). :class:`ToolArgumentParser` keeps status
2 under ``tools/dist_train.sh`` and ``tools/dist_test.sh``, whose launcher
prints the usage error once.
"""
import argparse
import os.path as osp
from typing import Iterable, Optional, Sequence, Tuple

from mmengine.config import Config

from .checkpoint_formats import (TOOL_ORDER, file_kind, not_a_checkpoint,
                                 read_head)
from .checkpoint_text import record_in_checkpoint_place
from .config_error import ConfigError
from .config_loading import check_config_file, load_config_file
from .device_check import device_problem
from .launcher_refusals import leave_refusal_to_launcher
from .local_files import first_missing_file, is_local
from .output_folder import output_folder_problem

__all__ = [
    'ToolArgumentParser', 'add_launcher_argument', 'positive_int',
    'non_negative_int', 'check_device', 'first_misplaced_file',
    'input_files_problem', 'input_folder_problem', 'read_config_arg',
    'refuse_data_folders', 'refuse_input_files'
]

#: ``(path, what)``: a file a command line names, and how it names it
#: (``'config'``, ``'--pretrained'``); a path of None was not given.
NamedFile = Tuple[Optional[str], str]


class ToolArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose ``error`` (the usage, then ``PROG: error:
    MESSAGE``, exit status 2) is printed once for all ranks
    (:func:`~.launcher_refusals.leave_refusal_to_launcher`). Under
    ``tools/dist_train.sh`` and ``tools/dist_test.sh`` the worker ends with
    status 2 without printing it, and their launcher prints it; before,
    every rank printed it, then torchrun its ``ChildFailedError``
    traceback and block. Under ``tools/slurm_*.sh`` only the first rank of
    each node prints it."""

    def error(self, message: str):
        text = f'{self.format_usage()}{self.prog}: error: {message}'
        if leave_refusal_to_launcher(text, self.prog):
            self.exit(2)
        super().error(message)


class _LauncherOnce(argparse.Action):
    """``--launcher``, refused when the same command line gives another
    value before it: argparse keeps the last."""

    def __init__(self, *args, tool: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.tool = tool
        # (namespace, value): the value given in that parse.
        self.given = None

    def __call__(self, parser, namespace, value, option_string=None):
        if self.given is not None and self.given[0] is namespace \
                and self.given[1] != value:
            first, tool = self.given[1], self.tool
            parser.error(
                f'--launcher given twice, {first} then {value}: '
                f'tools/dist_{tool}.sh passes --launcher pytorch itself '
                f'(tools/slurm_{tool}.sh --launcher slurm): give them no '
                f'--launcher; to run one process, run tools/{tool}.py '
                'alone, without --launcher.')
        self.given = (namespace, value)
        setattr(namespace, self.dest, value)


def add_launcher_argument(parser: argparse.ArgumentParser, tool: str) -> None:
    """Add ``--launcher {none,pytorch,slurm,mpi}`` (default ``none``) to
    ``parser``, ending the tool with ``parser.error`` (exit status 2) when
    the command line gives it twice with different values.

    ``tools/dist_{tool}.sh CONFIG 2 --launcher none`` ran ``{tool}.py
    CONFIG --launcher pytorch --launcher none``; argparse keeps the last,
    so each torchrun worker ran alone on all the data, into one work dir
    (``slurm_{tool}.sh`` the same, after its ``--launcher=slurm``). The
    same value twice is the same run, and is let through.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        tool (str): ``'train'`` or ``'test'``, to name the tool's scripts.
    """
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        action=_LauncherOnce,
        tool=tool,
        help='job launcher')


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


def read_config_arg(parser: argparse.ArgumentParser, path: str) -> Config:
    """The config a tool's CONFIG names, read with
    :func:`~.config_loading.load_config_file`; one it cannot read ends the
    tool with ``parser.error`` (exit status 2), as ``tools/infer.py`` ends:
    a file that is no config (a checkpoint given first: the files swapped),
    Python that does not parse, a ``_base_`` that does not exist, a dict
    over a base's other value, bytes that are not UTF-8 text. The line
    names the file and, where it can, the line. Mistakes of a config that
    was read (a key, a value, a type no registry holds) are not checked
    here: the tools end with them with exit status 1, as a failure of the
    run.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        path (str): The config file.

    Returns:
        Config: The config.
    """
    try:
        return load_config_file(path)
    except ConfigError as e:
        parser.error(str(e))


def input_files_problem(configs: Sequence[NamedFile],
                        checkpoints: Sequence[NamedFile],
                        others: Sequence[NamedFile] = (),
                        order: str = TOOL_ORDER) -> Optional[str]:
    """The command-line error for the first input file a tool cannot use
    as given, for ``parser.error`` (exit status 2) before anything is read;
    else None. Every tool checks its files in this one order:

    1. a config or other file given as an address (MMEngine reads configs,
       and ``open`` label maps, from local files only);
    2. a local file that is not there, or is a folder: the configs, then
       the checkpoints, then the others, each in the order given;
    3. a config that is no config file (a checkpoint or a video given
       first: :func:`~.config_loading.check_config_file`; one named as a
       config too, which MMEngine would fail to read as text);
    4. a checkpoint that is plainly another of the tools' files (a config,
       a video, an image) or MMEngine's ``last_checkpoint`` record
       (:func:`first_misplaced_file`).

    So the files swapped (``CHECKPOINT CONFIG``) are named by the config,
    and a missing file is named before what another one is.

    Args:
        configs (Sequence[tuple]): ``(path, what)`` of the configs, e.g.
            ``[(args.config, 'config')]``.
        checkpoints (Sequence[tuple]): Those of the checkpoints
            (``'checkpoint'``, ``'--pretrained'``, ``'--resume'``); an
            address is left to its loader.
        others (Sequence[tuple]): Other local files that must be there
            (label maps). Defaults to ``()``.
        order (str): The order of files that a misplaced file's error
            names. Defaults to :data:`~.checkpoint_formats.TOOL_ORDER`.
    """
    for path, what in list(configs) + list(others):
        if path is not None and not is_local(path):
            return (f'{what} {path}: it is read from a local file, not an '
                    'address; download it first')
    missing = first_missing_file(
        list(configs) + list(checkpoints) + list(others))
    if missing:
        return missing
    for path, _ in configs:
        if path is None:
            continue
        try:
            check_config_file(path, order)
        except ConfigError as e:
            return str(e)
        # Named as a config, written as something else (torch.save to a
        # .py name): MMEngine failed on it with a UnicodeDecodeError.
        kind = file_kind(path)
        if kind:
            return (f'The config {path} is not a config file, whatever its '
                    f'name: it is {kind}: {order}.')
    return first_misplaced_file(checkpoints, order)


def refuse_input_files(parser: argparse.ArgumentParser,
                       configs: Sequence[NamedFile],
                       checkpoints: Sequence[NamedFile],
                       others: Sequence[NamedFile] = (),
                       order: str = TOOL_ORDER) -> None:
    """End the tool with ``parser.error`` (exit status 2) on
    :func:`input_files_problem`'s line, if there is one. Arguments as
    there."""
    problem = input_files_problem(configs, checkpoints, others, order)
    if problem:
        parser.error(problem)


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


def refuse_data_folders(parser: argparse.ArgumentParser,
                        inputs: Sequence[NamedFile],
                        out: Optional[NamedFile] = None) -> None:
    """End a data tool (``tools/data/*``) with ``parser.error`` (exit
    status 2), before anything is read or written, on the first folder
    of ``inputs`` that is not one (:func:`input_folder_problem`), then on
    an output folder that cannot be made or written in
    (:func:`~.output_folder.output_folder_problem`).

    What a folder that is there lacks (the dataset's files, looked for in
    it by their own names) is found by reading it: the tool's finding while
    running, exit status 1.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        inputs (Sequence[tuple]): ``(path, name)`` of the folders it
            reads, e.g. ``[(args.root, 'ROOT')]``; a path of None (an
            option not given) is skipped.
        out (tuple, optional): ``(path, name)`` of the folder it writes,
            e.g. ``(args.out_dir, 'OUT_DIR')``. Defaults to None.
    """
    for path, name in inputs:
        problem = None if path is None else input_folder_problem(path, name)
        if problem:
            parser.error(problem)
    problem = None if out is None else output_folder_problem(*out)
    if problem:
        parser.error(problem)


def first_misplaced_file(files: Iterable[NamedFile],
                         order: str = TOOL_ORDER) -> Optional[str]:
    """``'WHAT PATH: it is a video file ..., not a checkpoint: ...'`` for
    the first local file of ``files``, each given as a checkpoint, that is
    plainly another of the tools' files (a config, a video, an image: see
    :func:`~.checkpoint_formats.not_a_checkpoint`) or MMEngine's
    ``last_checkpoint`` record
    (:func:`~.checkpoint_text.record_in_checkpoint_place`), for
    ``parser.error`` (exit status 2) before anything is loaded; else None.
    Each file's first bytes are read once, for both.

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
        head = read_head(path)
        kind = not_a_checkpoint(path, order, head) or \
            record_in_checkpoint_place(path, head)
        if kind:
            return f'{what} {path}: it is {kind}'
    return None
