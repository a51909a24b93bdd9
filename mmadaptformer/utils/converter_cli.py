# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The command-line check the checkpoint converters share.

``tools/model_converters/{extract_adapters,merge_adapters,convert_official}
.py`` each parse their arguments and refuse, with ``parser.error`` (exit
status 2) before anything is read, a local input that is not there (as
``tools/train.py``, ``test.py`` and ``infer.py`` do), an input that may not
be an address (the config) given as one, and an output file that is an
address, one of their inputs, a file of the download cache (a download or
its record, one there already or one an input address is about to be
downloaded to) or cannot be written (see
:func:`.output_file.output_file_problem`, which every tool's output goes
through), or whose extension names a format other than a torch
checkpoint (``.json``, ``.yaml``, ``.py``...: a
later reader by extension would misread it). They write that file with
:func:`.atomic_save.atomic_torch_save`. ``extract_adapters.py`` and
``merge_adapters.py`` take one command line (:func:`adapter_tool_parser`,
:func:`parse_adapter_tool_args`).

They read a checkpoint with :func:`read_converter_checkpoint`: a local file
with :func:`.checkpoint_loading.safe_torch_load`, an address (``https://``
and MMEngine's other schemes) through MMEngine's ``CheckpointLoader``, as
``load_checkpoint`` reads it, whose loaders this package makes download
into PyTorch's hub cache and load with ``weights_only=True`` and its
allow-list (:mod:`.checkpoint_schemes`): a file that carries code is
refused, not kept and not run.
"""
import argparse
import os.path as osp
from argparse import Namespace
from typing import Any, Optional, Sequence, Tuple

from .cfg_options import add_cfg_options
from .checkpoint_formats import TOOL_ORDER
from .checkpoint_loading import safe_torch_load
from .checkpoint_schemes import register_safe_checkpoint_loaders
from .cli_types import refuse_input_files
from .local_files import home_expanded, is_local
from .output_file import output_file_problem

__all__ = [
    'ADAPTER_TOOL_ADDRESSES', 'ADAPTER_TOOL_INPUTS', 'CONFIG_INPUT',
    'adapter_tool_parser', 'parse_adapter_tool_args',
    'NOT_CHECKPOINT_EXTENSIONS', 'parse_converter_args',
    'read_converter_checkpoint'
]

#: Output extensions of formats other than a torch checkpoint, and what
#: they name. mmengine.load and MMEngine's config reader go by extension.
NOT_CHECKPOINT_EXTENSIONS = {
    '.json': 'JSON',
    '.yaml': 'YAML',
    '.yml': 'YAML',
    '.py': 'a Python file (a config)',
    '.txt': 'a text file',
    '.pkl': 'a pickle (mmengine.load reads it as one, not as a checkpoint)',
    '.pickle': 'a pickle (mmengine.load reads it as one, not as a '
    'checkpoint)',
}

#: What ``extract_adapters.py`` and ``merge_adapters.py`` read, as
#: :func:`parse_converter_args` takes it, and which of it may be an address.
#: The argument of :func:`parse_converter_args`'s ``inputs`` that is a
#: config (the others are checkpoints).
CONFIG_INPUT = 'config'
ADAPTER_TOOL_INPUTS = ((CONFIG_INPUT, 'config'), ('checkpoint', 'checkpoint'),
                       ('pretrained', '--pretrained backbone'))
ADAPTER_TOOL_ADDRESSES = ('checkpoint', 'pretrained')


def adapter_tool_parser(description: str, checkpoint: str, out: str,
                        pretrained: str) -> argparse.ArgumentParser:
    """The command line of ``extract_adapters.py`` and
    ``merge_adapters.py``: ``CONFIG CHECKPOINT OUT [--pretrained
    CHECKPOINT] [--cfg-options ...]``.

    Args:
        description (str): The tool's description.
        checkpoint (str): The help of ``CHECKPOINT``, the file it reads.
        out (str): The help of ``OUT``, the file it writes.
        pretrained (str): The help of ``--pretrained``.

    Returns:
        argparse.ArgumentParser: The parser, for
        :func:`parse_adapter_tool_args`.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='the AdaptFormer (or VPT) config')
    parser.add_argument('checkpoint', help=checkpoint)
    parser.add_argument('out', help=out)
    parser.add_argument('--pretrained', metavar='CHECKPOINT', help=pretrained)
    add_cfg_options(parser)
    return parser


def parse_adapter_tool_args(parser: argparse.ArgumentParser,
                            argv: Optional[Sequence[str]]) -> Namespace:
    """:func:`parse_converter_args` for a parser of
    :func:`adapter_tool_parser`: the config must be local, the checkpoint
    and ``--pretrained`` may be addresses."""
    return parse_converter_args(
        parser,
        argv,
        'out',
        ADAPTER_TOOL_INPUTS,
        addresses=ADAPTER_TOOL_ADDRESSES)


def parse_converter_args(parser: argparse.ArgumentParser,
                         argv: Optional[Sequence[str]],
                         out: str,
                         inputs: Sequence[Tuple[str, str]],
                         addresses: Sequence[str] = ('pretrained', ),
                         order: str = TOOL_ORDER) -> Namespace:
    """Parse ``argv`` and refuse an input file that is not there, and an
    output file that cannot be written or would replace an input.

    Args:
        parser (argparse.ArgumentParser): The converter's parser.
        argv (Sequence[str], optional): The arguments; None reads
            ``sys.argv``.
        out (str): The name of the output argument (``'out'``, ``'dst'``),
            which the error names it by.
        inputs (Sequence[tuple[str, str]]): ``(argument, what)`` of each
            argument that names a file the converter reads, e.g.
            ``('pretrained', '--pretrained backbone')``; an argument left
            out (None) is skipped.
        addresses (Sequence[str]): The arguments of ``inputs`` that may be
            an address (``http://...``), read by MMEngine's checkpoint
            loaders as in training (:func:`read_converter_checkpoint`);
            the others must be local files. Defaults to
            ``('pretrained', )``.
        order (str): The order of files that a misplaced input's error
            names. Defaults to :data:`~.checkpoint_formats.TOOL_ORDER`
            (CONFIG first, then CHECKPOINT); a converter without a config
            names its own usage.

    A local input that is plainly not what it is given as (a checkpoint,
    video or image as the ``config``; a config, video or image as a
    checkpoint: the files swapped, or one left out) is refused here too.

    Returns:
        argparse.Namespace: The parsed arguments, ``~`` expanded in the
        local paths of ``inputs`` and ``out``.
    """
    args = parser.parse_args(argv)
    # The shell leaves `~` as it is when quoted or after `--pretrained=`.
    # MMEngine's loaders expand it; an output under it would be written
    # to a folder named `~` in the working directory.
    for name in [name for name, _ in inputs] + [out]:
        setattr(args, name, home_expanded(getattr(args, name)))
    # Named before a model is built, with exit status 2 as in train.py,
    # test.py and infer.py (not a FileNotFoundError, status 1, after it).
    for name, what in inputs:
        value = getattr(args, name)
        if value is not None and name not in addresses and \
                name != CONFIG_INPUT and not is_local(value):
            parser.error(f'{what} {value}: it is read from a local file, '
                         'not an address; download it first')
    # The tools' one order: a config given as an address, a file that is
    # not there, a config that is none (the files swapped: CHECKPOINT
    # CONFIG OUT), a config or video in a checkpoint's place.
    refuse_input_files(
        parser, [(getattr(args, name), what)
                 for name, what in inputs if name == CONFIG_INPUT],
        [(getattr(args, name), what)
         for name, what in inputs if name != CONFIG_INPUT],
        order=order)
    path = getattr(args, out)
    if not is_local(path):
        parser.error(f'{out} {path}: the output is written to a local file, '
                     'not an address; give a local path (and copy the file '
                     'there afterwards)')
    problem = output_file_problem(path, out, [(getattr(args, name), what)
                                              for name, what in inputs])
    if problem:
        parser.error(problem)
    ext = osp.splitext(path)[1].lower()
    if ext in NOT_CHECKPOINT_EXTENSIONS:
        parser.error(f'{out} {path}: the output is a torch checkpoint, but '
                     f'{ext!r} names {NOT_CHECKPOINT_EXTENSIONS[ext]}; give '
                     'a .pth file')
    return args


def read_converter_checkpoint(filename: str) -> Any:
    """Read a converter's input checkpoint onto the CPU, with
    ``weights_only=True`` wherever it is.

    A local file is read with :func:`.checkpoint_loading.safe_torch_load`.
    An address (``https://...``, ``open-mmlab://...``) is read as
    MMEngine's ``load_checkpoint`` reads it, through
    ``CheckpointLoader.load_checkpoint``, which this package's loaders
    answer (:func:`.checkpoint_schemes.register_safe_checkpoint_loaders`):
    an ``http(s)`` file is downloaded into PyTorch's hub cache and loaded
    with the same unpickler and allow-list; one that carries code is
    refused and not kept. Globals a caller allows around this call
    (``torch.serialization.safe_globals``) apply to both.

    Args:
        filename (str): A local path or an address.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        CheckpointLoadError: If the file cannot be downloaded, carries
            code or is damaged; the message names the file or address.
        FileNotFoundError: If a local file is not there.
    """
    if is_local(filename):
        return safe_torch_load(filename, map_location='cpu')
    from mmengine.runner import CheckpointLoader

    # Idempotent (importing the package did it): no import order leaves
    # MMEngine's own http loader, which unpickles anything, in place.
    register_safe_checkpoint_loaders()
    # 'silent': no "Loads checkpoint by http backend" line among the
    # converter's report.
    return CheckpointLoader.load_checkpoint(
        filename, map_location='cpu', logger='silent')
