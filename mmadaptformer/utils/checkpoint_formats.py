# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Say what a file is when :func:`torch.load` cannot read it.

A file that is not a checkpoint fails inside PyTorch's unpickler with an
error about its first byte (``Unsupported operand 31`` for gzip, ``60``
for an HTML page), which reads like a damaged checkpoint. The formats users
are handed in place of a ``torch.save`` file are told apart by how they
start (:func:`binary_format`, :func:`text_format`), so the loader's error
can say what the file is and what to do with it.
"""
import json
import os.path as osp
import struct
import zipfile
from typing import Optional

from .image_files import image_format
from .local_files import CONFIG_SUFFIXES
from .text_files import printable_text, stand_in_for
from .video_containers import container_name

__all__ = [
    'API_ORDER', 'FORMAT_HEAD', 'SAFETENSORS_SUFFIX', 'TOOL_ORDER',
    'binary_format', 'file_kind', 'is_safetensors', 'last_checkpoint_record',
    'media_kind', 'not_a_checkpoint', 'read_head', 'safetensors_advice',
    'text_format'
]

#: The name PyTorch's ``torch.load`` needs to read a safetensors file.
SAFETENSORS_SUFFIX = '.safetensors'

#: Compressed files: (how they start, what they are, how to unpack them).
_COMPRESSED = (
    (b'\x1f\x8b', 'gzip-compressed', 'gunzip'),
    (b'BZh', 'bzip2-compressed', 'bunzip2'),
    (b'\xfd7zXZ\x00', 'xz-compressed', 'unxz'),
    (b'\x28\xb5\x2f\xfd', 'zstd-compressed', 'unzstd'),
)
#: Other formats that reach a checkpoint path.
_OTHER = (
    (b'\x93NUMPY', 'a NumPy .npy array (numpy.save), not a torch.save '
     'checkpoint'),
    (b'\x89HDF\r\n\x1a\n', 'an HDF5 file (e.g. Keras .h5 weights), not a '
     'torch.save checkpoint'),
)
#: The tools' order of files, for a file given in another one's place.
TOOL_ORDER = ('the tools take the config first, then the checkpoint, then the '
              'inputs (tools/infer.py CONFIG CHECKPOINT INPUT ..., '
              'tools/test.py CONFIG CHECKPOINT)')
#: The toolboxes' APIs' order, for a file given in the config's place.
API_ORDER = ('the APIs take the config first, then the checkpoint '
             "(mmaction2's init_recognizer(CONFIG, CHECKPOINT), "
             "mmpretrain's get_model(CONFIG, pretrained=CHECKPOINT), an "
             'Inferencer(CONFIG, CHECKPOINT), tools/test.py CONFIG '
             'CHECKPOINT)')
#: How many bytes are read to tell the format.
FORMAT_HEAD = 512
#: How the names of checkpoints that a last_checkpoint record names end.
_CHECKPOINT_ENDS = ('.pth', '.pt', '.ckpt')


def read_head(filename: str) -> bytes:
    """The first :data:`FORMAT_HEAD` bytes of ``filename`` (all of a
    shorter file), what the checks here read; ``b''`` if it cannot be
    read (its load then says why)."""
    try:
        with open(filename, 'rb') as f:
            return f.read(FORMAT_HEAD)
    except OSError:
        return b''


def media_kind(head: bytes) -> Optional[str]:
    """``'a video file (MP4/MOV)'`` or ``'an image (PNG)'`` for a file that
    starts as one, else None.

    Args:
        head (bytes): The file's first bytes (at least
            :data:`~mmadaptformer.utils.video_containers.CONTAINER_HEAD`
            for an MPEG transport stream).
    """
    # Images first: a WebP file is a RIFF file too, which the containers
    # take for an AVI.
    name = image_format(head, readable_only=False)
    if name is not None:
        return f'an image ({name})'
    name = container_name(head)
    return None if name is None else f'a video file ({name})'


def file_kind(filename: str) -> Optional[str]:
    """What a file given where a config goes is, when it is something the
    tools read elsewhere: ``'a checkpoint (torch.save)'`` (a zip archive or
    a pickle), a video or an image (:func:`media_kind`); None otherwise.

    Args:
        filename (str): A local file.
    """
    head = read_head(filename)
    # torch.save writes a zip archive (torch >= 1.6) or a pickle, whose
    # protocol 2+ header starts with 0x80.
    if head.startswith((b'PK\x03\x04', b'\x80')):
        return 'a checkpoint (torch.save)'
    # A config is text, and text can look like a magic number: an MP4 box
    # name at bytes 4-8 ('# A free-form config'), a BMP's 'BM'. Media files
    # are binary, and are not UTF-8 in their first bytes.
    if printable_text(head) is not None:
        return None
    return media_kind(head)


def not_a_checkpoint(filename: str,
                     order: str = TOOL_ORDER,
                     head: Optional[bytes] = None) -> Optional[str]:
    """What a local file given as the checkpoint is when it is plainly
    another of the tools' files: a video or an image (``infer.py CONFIG
    clip.mp4 ...``, the checkpoint left out) or a config (the two
    swapped), with the tools' order of files; None for anything else,
    which its load reads (a damaged checkpoint is named there).

    Args:
        filename (str): The local file given as the checkpoint.
        order (str): The order of files to name. Defaults to
            :data:`TOOL_ORDER` (the tools'); a tool that takes no config,
            such as ``convert_official.py SRC DST``, names its own.
        head (bytes, optional): Its :func:`read_head`, if read already.
            Defaults to None (read here).

    Returns:
        str | None: A phrase that follows "it is".
    """
    if head is None:
        head = read_head(filename)
    return _misplaced_media(head, order) or _misplaced_config(
        filename, head, order)


def _misplaced_media(head: bytes, order: str = TOOL_ORDER) -> Optional[str]:
    """What a checkpoint that starts as a video or an image is, with the
    ``order`` of files; None for any other."""
    kind = media_kind(head)
    return None if kind is None else f'{kind}, not a checkpoint: {order}'


def _misplaced_config(filename: str,
                      head: bytes,
                      order: str = TOOL_ORDER,
                      text: Optional[str] = None) -> Optional[str]:
    """What a checkpoint named and written as a config is, with the
    ``order`` of files; None for any other. ``text`` is ``head`` as
    ``printable_text(head, escapes=True)`` decoded it, if it was."""
    if not filename.endswith(CONFIG_SUFFIXES):
        return None
    if text is None:
        text = printable_text(head, escapes=True)
    # A config is text without a terminal's escapes.
    if text is None or '\x1b' in text:
        return None
    return f'a config file, not a checkpoint: {order}'


def is_safetensors(filename: str) -> bool:
    """Whether ``filename`` is in the safetensors format: an 8-byte
    little-endian header length, then that many bytes of JSON object.

    Args:
        filename (str): A local file.

    Returns:
        bool: True for a safetensors file, whatever its name.
    """
    try:
        with open(filename, 'rb') as f:
            raw = f.read(8)
            if len(raw) < 8:
                return False
            size = struct.unpack('<Q', raw)[0]
            if not 2 <= size <= min(osp.getsize(filename) - 8, 100 << 20):
                return False
            header = json.loads(f.read(size).decode('utf-8'))
    except (OSError, ValueError):
        return False
    return isinstance(header, dict)


def _foreign_zip(filename: str) -> Optional[str]:
    """What a zip archive is that holds no ``<folder>/data.pkl`` record,
    the one :func:`torch.load` unpickles; None for any other file."""
    try:
        with zipfile.ZipFile(filename) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
    folder = names[0].split('/', 1)[0] if names and '/' in names[0] else ''
    if folder and f'{folder}/data.pkl' in names:
        return None
    shown = ', '.join(names[:3]) + (', ...' if len(names) > 3 else '')
    npz = names and all(name.endswith('.npy') for name in names)
    return (f'a zip archive that torch.save did not write (it holds '
            f'{shown or "nothing"}, no <folder>/data.pkl record'
            f'{"; NumPy writes such .npz files" if npz else ""}), not a '
            f'checkpoint; nothing in it was unpickled')


def binary_format(filename: str) -> Optional[str]:
    """What ``filename`` is when it starts as a known binary format other
    than ``torch.save``'s (compressed, safetensors, NumPy, HDF5), with what
    to do about it. None of them is a pickle, so this may be said before a
    pickle scan, which would read their bytes as opcodes.

    Args:
        filename (str): A local file that :func:`torch.load` failed on.

    Returns:
        str | None: A phrase that follows "is", e.g. ``'gzip-compressed,
        ...'``; None for any other file.
    """
    head = read_head(filename)
    for magic, what, tool in _COMPRESSED:
        if head.startswith(magic):
            return (f'{what}, not a checkpoint written by torch.save: '
                    f'decompress it first (e.g. `{tool} -k FILE`) and give '
                    f'the decompressed file')
    for magic, what in _OTHER:
        if head.startswith(magic):
            return what
    if is_safetensors(filename):
        return safetensors_advice(filename)
    misplaced = _misplaced_media(head)
    if misplaced is not None:
        return misplaced
    if head.startswith(b'PK\x03\x04'):
        return _foreign_zip(filename)
    return None


def text_format(filename: str,
                head: Optional[bytes] = None,
                text: Optional[str] = None) -> Optional[str]:
    """What ``filename`` is when it is text that downloads leave in place
    of a file (an HTML or XML page, a Git LFS pointer), MMEngine's
    ``last_checkpoint`` record (:func:`last_checkpoint_record`), or a
    config file (given in the checkpoint's place). Ask only
    after a pickle scan found no code: a protocol 0 pickle is text too.

    Args:
        filename (str): A local file that :func:`torch.load` failed on.
        head (bytes, optional): Its first :data:`FORMAT_HEAD` bytes (all
            of a shorter file), if read already. Defaults to None (read
            here).
        text (str, optional): ``head`` as
            ``printable_text(head, escapes=True)`` decoded it, if it was
            (with ``head``). Defaults to None (decoded here).

    Returns:
        str | None: A phrase that follows "is"; None for any other file.
    """
    if head is None:
        head = read_head(filename)
    if text is None:
        text = printable_text(head, escapes=True)
    if text is not None:
        known = (
            _misplaced_config(filename, head, text=text)
            or stand_in_for(text, 'checkpoint'))
        if known is not None:
            return known
    # A record is read on its own terms: its line may end in a byte-order
    # mark, which printable_text refuses.
    return last_checkpoint_record(filename, head)


def last_checkpoint_record(filename: str,
                           head: Optional[bytes] = None) -> Optional[str]:
    """What to give instead of MMEngine's ``last_checkpoint`` record.

    ``CheckpointHook`` writes ``WORK_DIR/last_checkpoint``: one line of
    text, the path of the newest checkpoint it saved (what ``--resume``
    reads). Given as a checkpoint, it failed as a damaged one. The file
    it names is not loaded in its place: which checkpoint to use is the
    user's choice.

    Args:
        filename (str): A local file.
        head (bytes, optional): Its first bytes, if read already.
            Defaults to None (read here).

    Returns:
        str | None: A phrase that follows "is", naming the checkpoint
        recorded (and whether it is there); None unless the file is one
        line of text that names an existing file, a ``.pth`` file, or is
        called ``last_checkpoint``.
    """
    if head is None:
        head = read_head(filename)
    if len(head) >= FORMAT_HEAD:
        return None
    try:
        text = head.decode('utf-8').strip('\ufeff \t\r\n')
    except UnicodeDecodeError:
        return None
    if not text or '\n' in text or '\r' in text or not text.isprintable():
        return None
    candidates = [text]
    if '://' not in text and not osp.isabs(text):
        # Relative to where the run was started, or to the work dir.
        candidates.append(osp.join(osp.dirname(filename), text))
    found = next((c for c in candidates if osp.isfile(c)), None)
    named = osp.basename(filename) == 'last_checkpoint'
    if found is None and not named and not text.endswith(_CHECKPOINT_ENDS):
        return None
    record = ("MMEngine's last_checkpoint record, not a checkpoint: a "
              'line of text that training writes to name the newest '
              'checkpoint it saved')
    if found is not None:
        return f'{record}, {found}. Give that file (or another ' \
            'checkpoint of the run) as the checkpoint'
    where = '' if '://' in text else ', which is not there'
    return f'{record}, {text}{where}. Give a checkpoint of the run ' \
        '(e.g. epoch_N.pth in its work dir) as the checkpoint'


def safetensors_advice(filename: str) -> str:
    """What to do with a safetensors file :func:`torch.load` did not read.

    Args:
        filename (str): The file.

    Returns:
        str: A phrase that follows "is".
    """
    try:
        import safetensors  # noqa: F401
        installed = True
    except ImportError:
        installed = False
    needs = []
    if not filename.endswith(SAFETENSORS_SUFFIX):
        needs.append(f'a name that ends with {SAFETENSORS_SUFFIX}')
    if not installed:
        needs.append('the safetensors package (pip install safetensors), '
                     'which is not installed')
    if not needs:
        return 'a safetensors file that torch.load could not read'
    return ('a safetensors file, which torch.load reads (safely: it holds '
            'no code) only with ' + ' and '.join(needs))
