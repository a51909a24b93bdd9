# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tell a sound video file from a broken one, cheaply.

:func:`check_container` reads only a file's container header (AVI/RIFF,
MP4/MOV, WebM/Matroska) and finds empty and truncated files, and text
given as a video (:func:`text_video`), without a decoder;
:mod:`mmadaptformer.utils.video_probe` then opens the file with decord.

The datasets use these checks before decord sees a file, because decord
0.6 crashes the whole process (segmentation fault) on some truncated AVI
files read from memory, which is how mmaction2's ``DecordInit`` reads.
"""
import os
import re
import stat
import struct
import traceback
from typing import NamedTuple, Optional, Tuple

from .text_files import text_in_place

__all__ = [
    'BrokenVideoError', 'CONTAINER_HEAD', 'TS_PACKET', 'VideoHead',
    'check_container', 'container_name', 'one_line_error', 'text_video'
]

#: Top-level box types an MP4/MOV/3GP file may start with.
_MP4_FIRST_BOXES = (b'ftyp', b'moov', b'mdat', b'free', b'skip', b'wide',
                    b'pnot', b'uuid', b'styp')

#: The prefix of decord's (dmlc's) log lines, which its errors carry:
#: ``[HH:MM:SS] /path/of/its/build/file.cc:LINE: ``.
_LOG_PREFIX = re.compile(r'\[\d\d:\d\d:\d\d\] \S+\.(?:cc|cpp|cu|h):\d+: ')


class BrokenVideoError(RuntimeError):
    """A video file cannot be decoded; the message names the file."""


def one_line_error(error: BaseException,
                   limit: int = 300,
                   end: str = '') -> str:
    """One line ``Type: message`` of an exception, at most ``limit`` chars.

    Decord's messages span many lines and start with its log's time and
    C++ source location (``[11:13:35] /github/workspace/src/video/
    video_reader.cc:270: ``), which are left out. An exception without a
    message (a bare ``assert``) is described by the line that raised it.

    Args:
        error (BaseException): The exception.
        limit (int): The longest line returned. Defaults to 300.
        end (str): Appended unless the line already ends with it, e.g.
            ``'.'`` to end a sentence with a message that may already end
            with one (``...; the class of label i must be on line i + 1.``
            read ``i + 1..``). Defaults to ``''``.

    Returns:
        str: The line.
    """
    text = _LOG_PREFIX.sub('', ' '.join(str(error).split()))
    text = text or _raised_at(error)
    if len(text) > limit:
        text = text[:limit - 3] + '...'
    if end and not text.endswith(end):
        text += end
    return f'{type(error).__name__}: {text}'


def _raised_at(error: BaseException) -> str:
    """``'raised at mmaction/.../processing.py:1197: assert ...'``, the
    innermost line of ``error``'s traceback; ``''`` without one."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ''
    frame = frames[-1]
    path = frame.filename.replace(os.sep, '/')
    for root in ('/site-packages/', '/dist-packages/'):
        path = path.rsplit(root, 1)[-1]
    line = f': {frame.line}' if frame.line else ''
    return f'raised at {path}:{frame.lineno}{line}'


def _ebml_vint(data: bytes, pos: int,
               keep_marker: bool) -> Optional[Tuple[int, int, bool]]:
    """Read an EBML variable-length integer; return ``(value, length,
    all_ones)`` or None if ``data`` ends inside it."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        return None
    value = int.from_bytes(data[pos:pos + length], 'big')
    marker = 1 << (7 * length)
    all_ones = (value & (marker - 1)) == marker - 1
    return (value if keep_marker else value & (marker - 1)), length, all_ones


#: Where the second packet of an MPEG transport stream starts: its sync
#: byte (a ``G``) there and at byte 0 tell one, a ``G`` alone (a text
#: file) does not.
TS_PACKET = 188
#: How many first bytes :func:`container_name` needs to tell every
#: container.
CONTAINER_HEAD = TS_PACKET + 1


def container_name(head: bytes) -> Optional[str]:
    """The container a file's first bytes say it is, or None.

    Only for messages about a file: one that failed to decode, or one given
    in another file's place. It knows AVI, MP4/MOV, WebM/Matroska,
    MPEG-PS/TS, FLV and Ogg by their magic bytes; an MPEG transport stream
    by the sync bytes of its first two packets.

    Args:
        head (bytes): The file's first bytes (:data:`CONTAINER_HEAD`; 16
            are enough for all but MPEG-TS).

    Returns:
        str, optional: The container's name.
    """
    if head[:4] == b'RIFF':
        return 'RIFF/AVI'
    if head[4:8] in _MP4_FIRST_BOXES:
        return 'MP4/MOV'
    magics = ((b'\x1a\x45\xdf\xa3', 'WebM/Matroska'),
              (b'\x00\x00\x01\xba', 'MPEG-PS'), (b'FLV', 'FLV'), (b'OggS',
                                                                  'Ogg'))
    for magic, name in magics:
        if head.startswith(magic):
            return name
    if head[:1] == head[TS_PACKET:TS_PACKET + 1] == b'\x47':
        return 'MPEG-TS'
    return None


def text_video(head: bytes) -> Optional[str]:
    """What a file is that was given as a video and is text, from the
    first bytes of a file of no known container (:func:`container_name`
    is None): an HTML page a failed download saved as ``clip.mp4``, a Git
    LFS pointer (:func:`~mmadaptformer.utils.text_files.text_in_place`),
    other text, quoted by its first bytes; None for binary data.

    Such a file is named, never handed to decord: decord 0.6 prints the
    bytes of a file it cannot open from memory (as mmaction2's
    ``DecordInit`` hands it) to stderr as the file's name, up to the
    first NUL byte, a terminal's escape sequences included.

    Args:
        head (bytes): The file's first bytes (:data:`CONTAINER_HEAD`; only
            those are read).

    Returns:
        str | None: A phrase that follows "it is", e.g. ``'an HTML page,
        not a video: ...'``, ``"text, not a video: b'Good clips: a, b'"``.
    """
    text = text_in_place(head[:CONTAINER_HEAD], 'video')
    if text == 'text, not a video':
        # Nothing else says what it is: a list or notes saved as a video.
        text += f': {head[:16]!r}'
    return text


#: The first bytes :func:`check_container` reads, in one read: enough for
#: the top-level boxes of most MP4 files' first part and for a Matroska
#: header, and one read of any network filesystem.
_HEAD_BYTES = 4096


class VideoHead(NamedTuple):
    """What :func:`check_container` read of a file that passed, so that a
    caller reads it once.

    Args:
        container (str, optional): The container its first bytes name
            (:func:`container_name`), or None.
        head (bytes): Its first bytes (up to 4 KiB; :data:`CONTAINER_HEAD`
            tell its container).
    """
    container: Optional[str]
    head: bytes


def check_container(path: str,
                    fd: Optional[int] = None,
                    size: Optional[int] = None) -> VideoHead:
    """Raise :class:`BrokenVideoError` if ``path`` is empty, shorter than
    its container header declares, or text (:func:`text_video`); opened
    here, also if it is a folder or no regular file (a FIFO).

    Only the first bytes and the top-level structure are read, so the check
    is cheap: the file is opened once and read at one to a few places (one
    for a file under 4 KiB, an MP4 file one more for each top-level box
    after its first 4 KiB). It recognises AVI (RIFF size), MP4/MOV
    (top-level box sizes) and WebM/Matroska (segment size, unless written
    as unknown); a file of no known container fails if it is text (an
    HTML page, a Git LFS pointer), and other files pass: for those the
    caller decides (:func:`~mmadaptformer.utils.unknown_containers.
    check_video_file` names images and opens the rest with decord).

    Args:
        path (str): A local video file.
        fd (int, optional): A descriptor the caller opened ``path`` with,
            to read through instead of opening it again; the caller closes
            it and has checked that it is a regular file. Defaults to None
            (``path`` is opened).
        size (int, optional): The size of the file open as ``fd``, where
            the caller has it (``os.fstat``); only with ``fd``. Defaults to
            None (``fd`` is stat'ed).

    Returns:
        VideoHead: Its container's name (or None) and first bytes.

    Raises:
        BrokenVideoError: If the file is empty, truncated, text, a folder
            or no regular file.
        OSError: If it cannot be opened or read (``FileNotFoundError`` if
            it is missing).
        ValueError: If ``size`` is given without ``fd``.
    """
    if fd is not None:
        return _checked_head(path, fd,
                             os.fstat(fd).st_size if size is None else size)
    if size is not None:
        raise ValueError(
            f'check_container({path!r}): size={size} is taken only with the '
            'descriptor it is the size of (fd=); without one the file is '
            'opened and stat\'ed here')
    # O_NONBLOCK: a FIFO given for a video is refused, not waited on (no
    # effect on regular files).
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
    try:
        status = os.fstat(fd)
        _check_regular(path, status.st_mode)
        return _checked_head(path, fd, status.st_size)
    finally:
        os.close(fd)


def _checked_head(path: str, fd: int, size: int) -> VideoHead:
    """:func:`check_container` of a regular file open as ``fd``, of
    ``size`` bytes."""
    if size == 0:
        raise BrokenVideoError(f'{path}: the file is empty (0 bytes)')
    head = os.pread(fd, _HEAD_BYTES, 0)
    if head[:4] == b'RIFF' and len(head) >= 8:
        _check_riff(path, head, size)
    elif head[4:8] == b'ftyp':
        _check_mp4(path, _Reader(fd, head, size))
    elif head[:4] == b'\x1a\x45\xdf\xa3':
        _check_ebml(path, _Reader(fd, head, size))
    name = container_name(head)
    if name is None:
        text = text_video(head)
        if text is not None:
            raise BrokenVideoError(f'{path}: it is {text}')
    return VideoHead(name, head)


def _check_regular(path: str, mode: int) -> None:
    """Raise :class:`BrokenVideoError` unless ``mode`` (``st_mode``) is a
    regular file's: a folder opens, and reading a FIFO or a device may
    never end."""
    if stat.S_ISREG(mode):
        return
    what = 'a folder' if stat.S_ISDIR(mode) else (
        'a FIFO' if stat.S_ISFIFO(mode) else 'no regular file')
    raise BrokenVideoError(f'{path}: it is {what}, not a video file')


class _Reader(NamedTuple):
    """An open file's first bytes (``head``), its descriptor and size."""
    fd: int
    head: bytes
    size: int

    def read(self, pos: int, count: int) -> bytes:
        """``count`` bytes at ``pos`` (fewer at the end of the file), from
        ``head`` where it holds them."""
        if pos + count <= len(self.head) or len(self.head) >= self.size:
            return self.head[pos:pos + count]
        return os.pread(self.fd, count, pos)


def _check_riff(path: str, head: bytes, size: int) -> None:
    """The AVI part of :func:`check_container`: the RIFF size."""
    declared = struct.unpack('<I', head[4:8])[0] + 8
    if declared > size:
        raise BrokenVideoError(
            f'{path}: truncated RIFF/AVI file: the header declares '
            f'{declared} bytes, the file has {size}')


def _check_mp4(path: str, file: _Reader) -> None:
    """The MP4/MOV part of :func:`check_container`: the top-level boxes
    must tile the file."""
    pos, size = 0, file.size
    while pos < size:
        box = file.read(pos, 16)
        if len(box) < 8:
            raise BrokenVideoError(
                f'{path}: truncated MP4/MOV file: it ends inside the box '
                f'header at byte {pos}')
        box_size, box_type = struct.unpack('>I4s', box[:8])
        if box_size == 1 and len(box) == 16:
            box_size = struct.unpack('>Q', box[8:16])[0]
        elif box_size == 0:  # the box runs to the end of the file
            break
        if box_size < 8 or pos + box_size > size:
            raise BrokenVideoError(
                f'{path}: truncated MP4/MOV file: box '
                f'{box_type.decode("latin-1")!r} at byte {pos} declares '
                f'{box_size} bytes, the file has {size - pos} left')
        pos += box_size


def _check_ebml(path: str, file: _Reader) -> None:
    """The Matroska/WebM part of :func:`check_container`: the segment
    size, unless written as unknown."""
    header = _ebml_vint(file.head, 4, keep_marker=False)
    if header is None:
        raise BrokenVideoError(f'{path}: truncated WebM/Matroska header')
    pos = 4 + header[1] + header[0]
    segment = file.read(pos, 12)
    seg_id = _ebml_vint(segment, 0, keep_marker=True)
    seg_size = seg_id and _ebml_vint(segment, seg_id[1], keep_marker=False)
    if not seg_size:
        raise BrokenVideoError(
            f'{path}: truncated WebM/Matroska file: it ends inside the '
            f'header at byte {pos}')
    value, length, unknown = seg_size
    declared = pos + seg_id[1] + length + value
    if not unknown and declared > file.size:
        raise BrokenVideoError(
            f'{path}: truncated WebM/Matroska file: the segment ends at '
            f'byte {declared}, the file has {file.size}')
