# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Text given as a checkpoint is refused by the safe loader before it is
unpickled, through our APIs and the toolboxes' own.

MMEngine's ``work_dirs/X/last_checkpoint`` record (the path of the newest
checkpoint), an HTML page a failed download saved, a Git LFS pointer and
other text went to :func:`torch.load` first; its unpickler failed on the
first byte and the error ended in ``(UnpicklingError: Unsupported operand
47)``, and other text was called "truncated or corrupted (KeyError: 101)".
Now the file is named from its bytes and nothing in it is unpickled. A
pickle of protocol 0, which is text too, is still the loader's to read."""
import io
import os

import pytest
import torch
from checkpoint_makers import save_stock_video_checkpoint
from repo_paths import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG

from mmadaptformer import apis
from mmadaptformer.utils import CheckpointLoadError, safe_torch_load

RECORD = ("MMEngine's last_checkpoint record, not a checkpoint: a line of "
          'text that training writes to name the newest checkpoint it saved')
NOT_UNPICKLED = 'It was not loaded: nothing in it was unpickled.'


@pytest.fixture
def unpickled(monkeypatch):
    """The files :func:`torch.load` was called on (the real one runs)."""
    calls = []
    real = torch.load

    def recording_load(f, *args, **kwargs):
        calls.append(str(f))
        return real(f, *args, **kwargs)

    monkeypatch.setattr(torch, 'load', recording_load)
    return calls


@pytest.fixture(scope='module')
def work_dir(tmp_path_factory):
    """A work dir as training leaves it: a checkpoint and MMEngine's
    record of it (an absolute path, no newline, as CheckpointHook writes
    it)."""
    root = tmp_path_factory.mktemp('work')
    checkpoint = str(root / 'epoch_2.pth')
    save_stock_video_checkpoint(checkpoint)
    record = root / 'last_checkpoint'
    record.write_text(checkpoint)
    return dict(record=str(record), checkpoint=checkpoint)


def _mmaction_init(config, checkpoint):
    from mmaction.apis import init_recognizer
    return init_recognizer(config, checkpoint, device='cpu')


def _mmpretrain_get_model(config, checkpoint):
    from mmpretrain import get_model
    return get_model(config, pretrained=checkpoint)


def _mmpretrain_inferencer(config, checkpoint):
    from mmpretrain import ImageClassificationInferencer
    return ImageClassificationInferencer(config, pretrained=checkpoint)


CALLS = {
    'init_model': (apis.init_model, TINY_VIDEO_CONFIG),
    'ModelInferencer': (apis.ModelInferencer, TINY_VIDEO_CONFIG),
    'add_task': (lambda config, ckpt: apis.MultiTaskRecognizer().add_task(
        'a', config, ckpt), TINY_VIDEO_CONFIG),
    'init_recognizer': (_mmaction_init, TINY_VIDEO_CONFIG),
    'get_model': (_mmpretrain_get_model, TINY_IMAGE_CONFIG),
    'ImageClassificationInferencer':
    (_mmpretrain_inferencer, TINY_IMAGE_CONFIG),
}


@pytest.mark.parametrize('api', list(CALLS))
def test_a_last_checkpoint_record_names_its_checkpoint_unpickled(
        api, work_dir, unpickled):
    call, config = CALLS[api]
    with pytest.raises((CheckpointLoadError, apis.TaskLoadError)) as info:
        call(config, work_dir['record'])
    error = info.value
    if api == 'add_task':
        # The task's error names it and keeps the loader's as its cause.
        cause = error.__cause__
        assert str(error) == f"Task 'a': CheckpointLoadError: {cause}"
        error = cause
    size = len(work_dir['checkpoint'])
    assert str(error) == (
        f'Checkpoint file {work_dir["record"]} ({size} bytes) is {RECORD}, '
        f'{work_dir["checkpoint"]}. Give that file (or another checkpoint '
        f'of the run) as the checkpoint. {NOT_UNPICKLED}')
    assert work_dir['record'] not in unpickled, unpickled
    # The checkpoint it names was not loaded in its place.
    assert work_dir['checkpoint'] not in unpickled, unpickled


def test_a_record_of_a_checkpoint_gone_says_so(tmp_path, unpickled):
    record = tmp_path / 'last_checkpoint'
    gone = str(tmp_path / 'epoch_3.pth')
    record.write_text(gone + '\n')
    with pytest.raises(CheckpointLoadError) as info:
        apis.init_model(TINY_VIDEO_CONFIG, str(record))
    assert (f'is {RECORD}, {gone}, which is not there. Give a checkpoint of '
            f'the run (e.g. epoch_N.pth in its work dir) as the checkpoint. '
            f'{NOT_UNPICKLED}') in str(info.value)
    assert unpickled == []


TEXTS = {
    'html': ('<!DOCTYPE html>\n<html><body>Sign in</body></html>\n',
             'an HTML page, not a checkpoint: the address served a web '
             'page'),
    'lfs': ('version https://git-lfs.github.com/spec/v1\noid sha256:' +
            '0' * 64 + '\nsize 348\n', 'a Git LFS pointer, not the '
            'checkpoint: the repository was cloned without its LFS files'),
    # A relative record under another name, which names no file here.
    'relative record': ('work_dirs/run/epoch_2.pth\n', RECORD),
    'notes': ('hello world\nsecond line\n', 'text, not a checkpoint (its '
              "first line: 'hello world')"),
}


@pytest.mark.parametrize('kind', list(TEXTS))
def test_text_is_named_without_unpickling(tmp_path, unpickled, kind):
    text, expected = TEXTS[kind]
    path = tmp_path / 'vit-b.pth'
    path.write_text(text)
    with pytest.raises(CheckpointLoadError) as info:
        safe_torch_load(str(path), map_location='cpu')
    message = str(info.value)
    assert message.startswith(
        f'Checkpoint file {path} ({len(text)} bytes) is {expected}'), message
    assert message.endswith(NOT_UNPICKLED), message
    assert 'truncated or corrupted' not in message
    assert 'Unsupported operand' not in message
    assert unpickled == []


def test_text_pickles_are_still_read_by_the_loader(tmp_path, unpickled):
    """Guard of kept behaviour: pickles of protocol 0 are text, and are
    the loader's to read, not taken for text files: a legacy ``torch.save``
    file of protocol 0 (which PyTorch's weights-only unpickler cannot
    read: the loader names it), and one that names code, refused by what
    it names."""
    buffer = io.BytesIO()
    saved = {'meta': {'epoch': 2}}
    torch.save(
        saved, buffer, pickle_protocol=0, _use_new_zipfile_serialization=False)
    assert buffer.getvalue().isascii()
    legacy = tmp_path / 'legacy.pth'
    legacy.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointLoadError) as info:
        safe_torch_load(str(legacy))
    assert ('is a torch.save file in the legacy (non-zip) format written '
            'with pickle protocol 0') in str(info.value)
    assert 'text, not a checkpoint' not in str(info.value)
    evil = tmp_path / 'evil.pth'
    evil.write_bytes(b'c' + os.name.encode() + b'\nsystem\n(S"true"\ntR.')
    with pytest.raises(CheckpointLoadError) as info:
        safe_torch_load(str(evil))
    assert str(info.value).startswith(f'Refused to load checkpoint {evil}')
    assert 'system' in str(info.value)
    assert unpickled == [str(legacy), str(evil)]


@pytest.mark.parametrize('kind', list(TEXTS))
def test_text_is_read_once_and_decoded_once(tmp_path, monkeypatch, kind):
    """The file is opened once and its text decoded once for all the
    kinds it is checked for (it was opened twice and decoded up to six
    times), with the same answer. A longer file has its head decoded
    once more: the head alone ends the check for a binary checkpoint."""
    from mmadaptformer.utils import checkpoint_formats, checkpoint_text
    from mmadaptformer.utils.text_files import printable_text
    text, expected = TEXTS[kind]
    decoded, opened = [], []
    real_open = open

    def counting_decode(head, *args, **kwargs):
        decoded.append(len(head))
        return printable_text(head, *args, **kwargs)

    def counting_open(file, *args, **kwargs):
        if str(file).startswith(str(tmp_path)):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    for module in (checkpoint_formats, checkpoint_text):
        monkeypatch.setattr(module, 'printable_text', counting_decode)
    monkeypatch.setattr('builtins.open', counting_open)
    short = tmp_path / 'vit-b.pth'
    short.write_text(text)
    assert checkpoint_text.text_in_checkpoint_place(
        str(short)).startswith(expected)
    assert opened == [str(short)]
    assert decoded == [len(text)]
    # Padded past the head with blank lines, which change no answer.
    long = tmp_path / 'long.pth'
    long.write_text(text + '\n' * 1000)
    opened.clear()
    decoded.clear()
    what = checkpoint_text.text_in_checkpoint_place(str(long))
    if kind != 'relative record':
        # A record is one line: padded, it is other text.
        assert what.startswith(expected)
    assert opened == [str(long)]
    assert decoded == [checkpoint_formats.FORMAT_HEAD, len(text) + 1000]
