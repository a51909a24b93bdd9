# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``text_in_place`` decodes a file's head once (it decoded it twice, once
itself and once in a helper that decoded it again), with the same answers.

Every file of no known container that a video dataset loads passes here.
"""
import pytest

from mmadaptformer.utils import text_files
from mmadaptformer.utils.text_files import (printable_text, stand_in_for,
                                            text_in_place)

PAGE = (b'\xef\xbb\xbf  <!DOCTYPE html>\n<html><title>Sign in</title>'
        b'\x1b[31mred\x1b[0m</html>\n')
LFS = (b'version https://git-lfs.github.com/spec/v1\noid sha256:' + b'0' * 64 +
       b'\nsize 123456\n')
HTML = ('an HTML page, not a video: the address served a web page (a '
        'login, a download confirmation or an error page) instead of the '
        'file. Download the file itself')
XML = ('an XML or HTML document, not a video: the address served an error '
       'or a listing instead of the file. Download the file itself')
POINTER = ('a Git LFS pointer, not the video: the repository was cloned '
           'without its LFS files. Run `git lfs pull`')
#: (head, what ``text_in_place(head, 'video')`` says).
ANSWERS = [
    (PAGE, HTML),
    (b'<?xml version="1.0"?><Error>AccessDenied</Error>', XML),
    (LFS, POINTER),
    (b'not a video\n' * 20, 'text, not a video'),
    # Cut inside a character at its end: still text.
    ('caf\u00e9'.encode() * 30 + '\u00e9'.encode()[:1], 'text, not a video'),
    (b'\x01\x02binary', None),
    (b'\xff\xd8\xff\xe0\x00\x10JFIF\x00', None),
    (b'\t\r\n ', None),
    (b'', None),
]


@pytest.mark.parametrize('head, answer', ANSWERS)
def test_the_head_is_decoded_once_with_the_same_answer(monkeypatch, head,
                                                       answer):
    calls = []
    printable_text = text_files.printable_text

    def counting(*args, **kwargs):
        calls.append(args)
        return printable_text(*args, **kwargs)

    monkeypatch.setattr(text_files, 'printable_text', counting)
    assert text_in_place(head, 'video') == answer
    assert len(calls) == 1


@pytest.mark.parametrize('head, answer', ANSWERS)
def test_stand_in_for_leaves_other_text_to_the_caller(head, answer):
    """Guards kept behaviour: other text than a page or a pointer is left
    to the caller (None)."""
    text = printable_text(head, escapes=True)
    if text is None:
        assert answer is None
        return
    expected = None if answer == 'text, not a video' else answer
    assert stand_in_for(text, 'video') == expected
