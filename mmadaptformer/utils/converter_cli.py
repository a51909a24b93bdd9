# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The command-line check the checkpoint converters share.

``tools/model_converters/{extract_adapters,merge_adapters,convert_official}
.py`` each parse their arguments and refuse, with ``parser.error`` (exit
status 2) before anything is read, an input that is not a local file (as
``tools/train.py``, ``test.py`` and ``infer.py`` do; only ``--pretrained``
may be an address), and an output file that is one of their inputs or
cannot be written (see :func:`.output_file.output_file_problem`), or whose
extension names a format other than a torch checkpoint (``.json``,
``.yaml``, ``.py``...: a later reader by extension would misread it). They
write that file with :func:`.atomic_save.atomic_torch_save`.
"""
import argparse
import os.path as osp
from argparse import Namespace
from typing import Optional, Sequence, Tuple

from .local_files import first_missing_file, is_local
from .output_file import output_file_problem

__all__ = ['NOT_CHECKPOINT_EXTENSIONS', 'parse_converter_args']

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


def parse_converter_args(
    parser: argparse.ArgumentParser,
    argv: Optional[Sequence[str]],
    out: str,
    inputs: Sequence[Tuple[str, str]],
    addresses: Sequence[str] = ('pretrained', )
) -> Namespace:
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
            loaders as in training; the others must be local files.
            Defaults to ``('pretrained', )``.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    args = parser.parse_args(argv)
    # Named before a model is built, with exit status 2 as in train.py,
    # test.py and infer.py (not a FileNotFoundError, status 1, after it).
    for name, what in inputs:
        value = getattr(args, name)
        if value is not None and name not in addresses and \
                not is_local(value):
            parser.error(f'{what} {value}: the converters read a local '
                         'file, not an address; download it first')
    missing = first_missing_file(
        (getattr(args, name), what) for name, what in inputs)
    if missing:
        parser.error(missing)
    path = getattr(args, out)
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
