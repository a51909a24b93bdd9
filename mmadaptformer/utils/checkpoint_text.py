# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a text file given as a checkpoint before it is unpickled.

Users hand the checkpoint loader text in a checkpoint's place: MMEngine's
``work_dirs/X/last_checkpoint`` record (one line, the path of the newest
checkpoint), the HTML page a failed download saved, a Git LFS pointer.
:func:`torch.load` fed such a file to its unpickler, which failed on the
first byte (``Unsupported operand 47`` for a ``/``), and only then was the
file named. :func:`text_in_checkpoint_place` names it from its bytes, so
the loader refuses it without unpickling anything.

A pickle of protocol 0 is text too (``torch.save(...,
pickle_protocol=0, _use_new_zipfile_serialization=False)`` writes one, and
so can someone planting code). So a file is only taken for text when its
bytes are not a pickle's: :mod:`pickletools` reads its opcodes (executing
nothing) and fails before the first pickle's end. A file that is a pickle
is left to the loader, whose unpickler and pickle scan decide.
"""
import io
import pickletools
from typing import Optional

from .checkpoint_formats import (FORMAT_HEAD, last_checkpoint_record,
                                 read_head, text_format)
from .text_files import printable_text, stand_in_for

__all__ = [
    'MAX_TEXT_CHECKPOINT', 'record_in_checkpoint_place',
    'text_in_checkpoint_place'
]

#: The largest file taken for text in a checkpoint's place: a record, a web
#: page or a pointer is far smaller; a larger file is left to the loader.
MAX_TEXT_CHECKPOINT = 64 * 1024
#: How much of the first line is quoted for text of no known kind.
_QUOTED = 60


def _is_pickle(data: bytes) -> bool:
    """Whether ``data`` reads as a whole pickle, up to its STOP opcode."""
    try:
        for _ in pickletools.genops(io.BytesIO(data)):
            pass
    except ValueError:
        # An unknown opcode, a bad argument, or no STOP before the end.
        return False
    return True


def text_in_checkpoint_place(filename: str) -> Optional[str]:
    """What a local file given as a checkpoint is when it is text that is
    no pickle: MMEngine's ``last_checkpoint`` record (naming the
    checkpoint it holds and whether that is there), an HTML or XML page, a
    Git LFS pointer, a config (:func:`.checkpoint_formats.text_format`), or
    other text (with its first line); None for anything else, the loader's
    to read.

    The file is read once, and its text decoded once for all of these
    (its first bytes once more when it is longer than them: they alone
    tell a binary checkpoint, which ends the check there).

    Args:
        filename (str): A local regular file.

    Returns:
        str | None: A phrase that follows "is", e.g. ``"MMEngine's
        last_checkpoint record, not a checkpoint: ..."``.
    """
    try:
        with open(filename, 'rb') as f:
            head = f.read(FORMAT_HEAD)
            # A checkpoint (a zip archive, a binary pickle) ends the check
            # at its first bytes.
            head_text = printable_text(head, escapes=True)
            if head_text is None:
                return None
            data = head + f.read(MAX_TEXT_CHECKPOINT + 1 - len(head))
    except OSError:
        # The loader's own error says why it cannot be read.
        return None
    if len(data) > MAX_TEXT_CHECKPOINT or _is_pickle(data):
        return None
    text = head_text if len(data) == len(head) else printable_text(
        data, escapes=True)
    if text is None:
        return None
    known = text_format(filename, head, head_text)
    if known is not None:
        return known
    what = stand_in_for(text, 'checkpoint') or 'text, not a checkpoint'
    first = text.splitlines()[0]
    if len(first) > _QUOTED:
        first = first[:_QUOTED] + '...'
    return f'{what} (its first line: {first!r})'


def record_in_checkpoint_place(filename: str,
                               head: Optional[bytes] = None) -> Optional[str]:
    """What MMEngine's ``last_checkpoint`` record given as a checkpoint is,
    in the loader's words, naming the checkpoint it holds
    (:func:`~.checkpoint_formats.last_checkpoint_record`); None for any
    other file, a protocol 0 pickle included (the loader's to read).

    Args:
        filename (str): A local regular file.
        head (bytes, optional): Its
            :func:`~.checkpoint_formats.read_head`, if read already; the
            file is not read again. Defaults to None (read here).

    Returns:
        str | None: A phrase that follows "is".
    """
    if head is None:
        head = read_head(filename)
    # A record is one line, shorter than the head: the head is all of it.
    record = last_checkpoint_record(filename, head)
    if record is None or _is_pickle(head):
        return None
    return record
