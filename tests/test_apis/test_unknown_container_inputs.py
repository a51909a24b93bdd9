# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A file named as a video whose bytes are no video container is refused
without printing its bytes.

mmaction2's ``DecordInit`` hands decord the file's bytes, and decord 0.6
prints the bytes of a file it cannot open to stderr, as the file's name,
up to the first NUL byte. The HTML page that a failed download saved as
``clip.mp4`` went to the terminal whole, escape sequences included (2 MB
of stderr for a 2 MB file of such bytes), before the one-line error.
"""
import pytest
from media_files import write_clip
from mmengine.config import Config
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.apis import InferenceInputError, TestInputs

#: Marks a file's content: it must not reach stderr.
MARKER = 'CONTENT-OF-THE-FILE'


@pytest.fixture(scope='module')
def inputs():
    return TestInputs(Config.fromfile(TINY_VIDEO_CONFIG))


def _refusal(inputs, path) -> str:
    with pytest.raises(InferenceInputError) as error:
        inputs(str(path))
    return str(error.value)


def test_an_html_page_named_as_a_video_is_named_and_not_printed(
        tmp_path, capfd, inputs):
    page = tmp_path / 'clip.mp4'
    page.write_text('<!DOCTYPE html><html><head><title>403</title></head>' +
                    ''.join(f'<p>{MARKER} {i}</p>\n'
                            for i in range(200)) + '</html>\n')
    message = _refusal(inputs, page)
    # In the datasets' words (their BrokenVideoError: 'PATH: it is an HTML
    # page, ...'); its first bytes are no longer quoted after what they are.
    assert message == (
        f'{page}: cannot be decoded as a video (it is an HTML page, not a '
        'video: the address served a web page (a login, a download '
        'confirmation or an error page) instead of the file. Download the '
        'file itself).')
    assert MARKER not in capfd.readouterr().err


def test_a_git_lfs_pointer_named_as_a_video_says_so(tmp_path, capfd, inputs):
    pointer = tmp_path / 'clip.webm'
    pointer.write_text('version https://git-lfs.github.com/spec/v1\n'
                       f'oid sha256:{MARKER}\nsize 123456\n')
    message = _refusal(inputs, pointer)
    assert message.endswith(
        '(it is a Git LFS pointer, not the video: the repository was cloned '
        'without its LFS files. Run `git lfs pull`).'), message
    assert MARKER not in capfd.readouterr().err


def test_bytes_of_no_container_are_not_printed(tmp_path, capfd, inputs):
    """Bytes that are no printable text (a control character other than a
    terminal's escape) are opened by path: decord's log names the file, not
    its bytes (a terminal's escape sequences included)."""
    junk = tmp_path / 'junk.mp4'
    junk.write_bytes(b'\x01<html>\x1b[2J' +
                     f'<p>{MARKER}</p>\n'.encode() * 300)
    message = _refusal(inputs, junk)
    # Then decord's own one-line error, which depends on the demuxer
    # FFmpeg guessed.
    assert message.startswith(
        f'{junk}: cannot be decoded as a video: its first bytes match no '
        'video container (AVI, MP4/MOV, WebM/Matroska, MPEG, FLV, Ogg): '
        "b'\\x01<html>\\x1b[2J<p>CO' (DECORDError: "), message
    assert MARKER not in message and '\n' not in message
    err = capfd.readouterr().err
    assert MARKER not in err
    assert '\x1b[2J' not in err


def test_a_real_video_is_still_classified_as_before(tmp_path, inputs):
    """Guards kept behaviour: a file of a known container goes to the
    test pipeline as it did."""
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    out = inputs(clip)
    assert tuple(out['inputs'].shape[-3:]) == (4, 32, 32)
