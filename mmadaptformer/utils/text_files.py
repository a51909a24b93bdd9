# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Say what a text file is that stands where a binary file was expected.

A download that failed leaves text in the file's place: the web page the
address served (a login, a download confirmation, an error page), or,
in a repository cloned without its Git LFS files, the LFS pointer. The
checkpoint loaders (:mod:`~mmadaptformer.utils.checkpoint_formats`), the
video inputs of inference and the video datasets (both through
:func:`~mmadaptformer.utils.video_containers.text_video`) name such a file
by what it is.
"""
from typing import Optional

__all__ = ['printable_text', 'stand_in_for', 'text_in_place']


def printable_text(head: bytes, escapes: bool = False) -> Optional[str]:
    """``head`` as text, leading blanks stripped, if it is printable UTF-8
    (possibly cut inside a character at its end); None otherwise.

    Args:
        head (bytes): A file's first bytes.
        escapes (bool): Also take the escape character (``ESC``, which
            starts a terminal's control sequences: a page or a log saved
            with its colours) as text. Defaults to False.
    """
    try:
        text = head.decode('utf-8').lstrip('\ufeff \t\r\n')
    except UnicodeDecodeError:
        # Cut inside a character, or binary.
        try:
            text = head[:-3].decode('utf-8').lstrip('\ufeff \t\r\n')
        except UnicodeDecodeError:
            return None
    allowed = '\t\r\n\x1b' if escapes else '\t\r\n'
    if not text or any(not c.isprintable() and c not in allowed for c in text):
        return None
    return text


def stand_in_for(text: str, what: str) -> Optional[str]:
    """What a file is whose head, decoded to ``text`` by
    :func:`printable_text`, starts as text which downloads leave in the
    place of a ``what`` (an HTML or XML page, a Git LFS pointer), with what
    to do; None for other text.

    Args:
        text (str): The head as :func:`printable_text` decoded it.
        what (str): What was expected, e.g. ``'checkpoint'``.

    Returns:
        str | None: A phrase that follows "it is", e.g. ``'an HTML page,
        not a checkpoint: ...'``.
    """
    lowered = text[:64].lower()
    if lowered.startswith(('<!doctype html', '<html', '<head', '<body')):
        return (f'an HTML page, not a {what}: the address served a web '
                'page (a login, a download confirmation or an error page) '
                'instead of the file. Download the file itself')
    if lowered.startswith('<'):
        return (f'an XML or HTML document, not a {what}: the address '
                'served an error or a listing instead of the file. '
                'Download the file itself')
    if lowered.startswith('version https://git-lfs'):
        return (f'a Git LFS pointer, not the {what}: the repository was '
                'cloned without its LFS files. Run `git lfs pull`')
    # Other text is left to the caller's message (for a checkpoint, it may
    # be a cut pickle).
    return None


def text_in_place(head: bytes, what: str) -> Optional[str]:
    """What a file is that starts as text where a ``what`` was expected
    (a terminal's escape sequences count as text): an HTML or XML page or
    a Git LFS pointer (:func:`stand_in_for`), else ``'text, not a
    WHAT'``; None for binary data.

    Args:
        head (bytes): The file's first bytes.
        what (str): What was expected, e.g. ``'video'``.

    Returns:
        str | None: A phrase that follows "it is".
    """
    # Decoded once: the head of every file of no known container that a
    # dataset loads passes here.
    text = printable_text(head, escapes=True)
    if text is None:
        return None
    return stand_in_for(text, what) or f'text, not a {what}'
