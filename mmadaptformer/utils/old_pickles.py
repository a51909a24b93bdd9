# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Name a pickle that the safe loader can never read, by how it starts.

Two kinds of file reach the checkpoint loader as pickles that PyTorch's
weights-only unpickler (the only one the loader uses) refuses whatever
they hold, with an error that read like damage:

* a ``torch.save`` file in the legacy (non-zip) format written with pickle
  protocol 0 or 1 (``torch.save(obj, f, _use_new_zipfile_serialization=
  False, pickle_protocol=0)``): its first pickle, torch.save's magic
  number, is a text ``LONG`` opcode, which that unpickler does not know
  (``UnpicklingError: Unsupported operand 76``). With protocol 0 its
  tensors' persistent ids are text (``PERSID``), which no ``torch.load``
  reads back (its legacy reader takes them only as tuples), so such a file
  must be saved again from its source, not re-saved;
* a pickle that ``torch.save`` did not write (``pickle.dump``'s output):
  it lacks the magic number (``Invalid magic number; corrupt file?``, or
  ``Unsupported operand 100`` for protocol 0).

:func:`unreadable_pickle` reads the opcodes at the file's start with
:mod:`pickletools`, executing nothing. Ask it only after the pickle scan
found no reference to code: such a file is refused as carrying code.
"""
import pickletools
from typing import BinaryIO, List, NamedTuple, Optional, Tuple

from torch.serialization import MAGIC_NUMBER

from .pickle_scan import MAX_SCAN_BYTES, MAX_SCAN_OPCODES

__all__ = ['unreadable_pickle']

#: What to do with such a file: loading it needs an unpickler without an
#: allow-list, which runs whatever code the file names, so only where it
#: came from, by whoever trusts it. ``{load}`` is what reads it there.
_RESAVE = ('If you trust where it came from, re-save it there: in the '
           'environment that wrote it, read it with {load}{then} and save '
           "the object with torch.save's defaults (a zip archive, pickle "
           'protocol 2), which this loader reads')
#: How a zip archive starts: torch.save's format since PyTorch 1.6.
_ZIP_MAGIC = b'PK\x03\x04'
#: What else a pickle of numpy weights needs: a model loads tensors.
_TO_TENSORS = ', turn its numpy arrays into tensors (torch.from_numpy)'


class _NotAPickle(Exception):
    """The bytes stop being a pickle, or go on past what is read."""


class _CappedReader:
    """``f`` for :func:`pickletools.genops`, which reads an opcode's whole
    argument at once: no more than ``cap`` bytes in all, so a claimed
    length of gigabytes is not read (the argument is then cut short, which
    ends the pickle)."""

    def __init__(self, f: BinaryIO, cap: int) -> None:
        self._f = f
        self._left = cap

    def _take(self, data: bytes) -> bytes:
        self._left -= len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > self._left:
            size = self._left
        return self._take(self._f.read(size))

    def readline(self) -> bytes:
        return self._take(self._f.readline(self._left))

    def tell(self) -> int:
        return self._f.tell()


def _stack_depth(opcode: pickletools.OpcodeInfo, depth: int,
                 marks: List[int]) -> int:
    """The stack's depth after ``opcode`` (``marks``: the depths of its
    marks, updated); raise if it takes more than the stack holds, as
    :func:`pickletools.dis` checks (which also writes out every opcode)."""
    before = opcode.stack_before
    if pickletools.markobject in before:
        if not marks:
            raise _NotAPickle
        depth = marks.pop()
        taken = before.index(pickletools.markobject)
    else:
        taken = len(before)
    if depth - taken < (marks[-1] if marks else 0):
        raise _NotAPickle
    depth -= taken
    for item in opcode.stack_after:
        if item is pickletools.markobject:
            marks.append(depth)
        else:
            depth += 1
    return depth


class _Pickle(NamedTuple):
    """What :func:`_read_pickle` saw of one pickle."""
    #: How many opcodes it had, PROTO and STOP left out.
    opcodes: int
    #: Its first opcode's argument when that is an int, else None.
    first: Optional[int]
    #: PROTO's, or the highest of its opcodes' protocols (0 or 1).
    protocol: int
    #: Whether it has a PERSID: protocol 0's text persistent id.
    text_ids: bool
    #: Whether it names numpy (its arrays, as pickle.dump writes them).
    numpy: bool


def _read_pickle(f: _CappedReader, opcodes: int) -> _Pickle:
    """Read one pickle from ``f`` to its STOP, which leaves one object;
    raise past ``opcodes`` opcodes."""
    count, first, protocol, text_ids, numpy = 0, None, 0, False, False
    depth, marks = 0, []
    try:
        for opcode, arg, _ in pickletools.genops(f):
            if opcode.name == 'STOP':
                if depth != 1 or marks:
                    raise _NotAPickle
                return _Pickle(count, first, protocol, text_ids, numpy)
            if count == 0 and opcode.name == 'PROTO':
                protocol = arg
                continue
            if count == 0 and isinstance(arg, int):
                first = arg
            count += 1
            if count > opcodes:
                raise _NotAPickle
            protocol = max(protocol, opcode.proto)
            text_ids = text_ids or opcode.name == 'PERSID'
            # A GLOBAL's argument, or STACK_GLOBAL's module string.
            numpy = numpy or isinstance(arg, str) and arg.startswith('numpy')
            depth = _stack_depth(opcode, depth, marks)
    except ValueError:
        # An unknown opcode, a bad or cut argument, or the end of the file.
        raise _NotAPickle from None
    raise _NotAPickle


def _legacy_file(f: _CappedReader) -> Optional[Tuple[str, str]]:
    """:func:`unreadable_pickle` of a legacy torch.save file of protocol
    0 or 1, ``f`` past its magic number."""
    # The magic number is one opcode in either protocol; the protocol
    # version's pickle, next, tells which.
    protocol = _read_pickle(f, 1).protocol
    what = (f'a torch.save file in the legacy (non-zip) format written with '
            f'pickle protocol {protocol} (torch.save(..., '
            f'_use_new_zipfile_serialization=False, pickle_protocol='
            f'{protocol}) writes one), which the safe loader cannot read: '
            f"PyTorch's weights-only unpickler does not know the text "
            f'opcodes of protocols 0 and 1')
    try:
        _read_pickle(f, MAX_SCAN_OPCODES)  # the system's description
        text_ids = _read_pickle(f, MAX_SCAN_OPCODES).text_ids
    except _NotAPickle:
        # Cut short, or longer than is read: whether it holds tensors
        # was not seen.
        text_ids = False
    if text_ids:
        return (f'{what}; nor can torch.load, in any mode or version: '
                f'protocol 0 writes the ids of its tensors as text, and '
                f'torch.load reads them only as tuples',
                'Save the weights again from where they came from (the '
                "model or the checkpoint it was saved from) with torch.save's "
                'defaults (a zip archive, pickle protocol 2), which this '
                'loader reads')
    return what, _RESAVE.format(load='torch.load', then='')


def unreadable_pickle(filename: str) -> Optional[Tuple[str, str]]:
    """What ``filename`` is when it is a pickle that the weights-only
    unpickler cannot read, whatever it holds: a legacy ``torch.save`` file
    of pickle protocol 0 or 1, or a pickle ``torch.save`` did not write;
    with what to do about it.

    Args:
        filename (str): A local file that :func:`torch.load` failed on.

    Returns:
        tuple[str, str] | None: A phrase that follows "is" and a sentence
        of advice; None for any other file (a damaged one included: its
        first pickle does not reach its STOP opcode within what a pickle
        scan reads).
    """
    try:
        with open(filename, 'rb') as raw:
            # torch.load reads such a file as a zip archive (a damaged one,
            # here), never as pickles: its 'P' would read as PERSID.
            if raw.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC:
                return None
            raw.seek(0)
            f = _CappedReader(raw, MAX_SCAN_BYTES)
            first = _read_pickle(f, MAX_SCAN_OPCODES)
            if first.opcodes == 1 and first.first == MAGIC_NUMBER:
                # Protocol 2 and later: the weights-only unpickler reads
                # them.
                return None if first.protocol >= 2 else _legacy_file(f)
    except (OSError, _NotAPickle):
        return None
    return (f'a pickle of protocol {first.protocol} that torch.save did not '
            f"write (pickle.dump writes such files; torch.save's start with "
            f'its magic number), not a checkpoint: torch.load reads only '
            f"torch.save's files",
            _RESAVE.format(
                load='pickle.load', then=_TO_TENSORS if first.numpy else ''))
