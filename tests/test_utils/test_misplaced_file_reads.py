# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`~mmadaptformer.utils.cli_types.first_misplaced_file` opens each
file given as a checkpoint once: its first bytes tell a video, an image,
a config and MMEngine's ``last_checkpoint`` record alike.

Before, it opened a record three times (``not_a_checkpoint``, then
``text_in_checkpoint_place`` read up to 64 KiB of it, then
``last_checkpoint_record`` read its head again) and any other file twice.
"""
import builtins

import pytest
import torch

from mmadaptformer.utils.cli_types import first_misplaced_file


@pytest.fixture
def opens(monkeypatch):
    """The paths Python's ``open`` opens from now on."""
    opened = []

    def counted(path, *args, _real=builtins.open, **kwargs):
        opened.append(str(path))
        return _real(path, *args, **kwargs)

    monkeypatch.setattr(builtins, 'open', counted)
    return opened


def test_a_record_is_opened_once_and_named(tmp_path, opens):
    checkpoint = tmp_path / 'epoch_2.pth'
    torch.save({'state_dict': {}}, checkpoint)
    record = tmp_path / 'last_checkpoint'
    record.write_text(str(checkpoint))
    opens.clear()
    said = first_misplaced_file([(str(record), 'checkpoint')])
    assert said == (
        f"checkpoint {record}: it is MMEngine's last_checkpoint record, not "
        'a checkpoint: a line of text that training writes to name the '
        f'newest checkpoint it saved, {checkpoint}. Give that file (or '
        'another checkpoint of the run) as the checkpoint')
    assert opens == [str(record)]


def test_a_checkpoint_is_opened_once_and_passed(tmp_path, opens):
    """It is the loader's to read."""
    checkpoint = tmp_path / 'epoch_2.pth'
    torch.save({'state_dict': {}}, checkpoint)
    opens.clear()
    assert first_misplaced_file([(str(checkpoint), '--pretrained')]) is None
    assert opens == [str(checkpoint)]


def test_a_one_line_pickle_named_last_checkpoint_is_left_to_the_loader(
        tmp_path):
    """``N.`` is a protocol 0 pickle (None) and one line of text: the
    loader's pickle scan decides, not this check. Guards kept
    behaviour."""
    record = tmp_path / 'last_checkpoint'
    record.write_bytes(b'N.')
    assert first_misplaced_file([(str(record), 'checkpoint')]) is None
    # Not a pickle: the record of a file that is not there.
    record.write_bytes(b'N')
    assert first_misplaced_file([(str(record), 'checkpoint')]).endswith(
        'newest checkpoint it saved, N, which is not there. Give a '
        'checkpoint of the run (e.g. epoch_N.pth in its work dir) as the '
        'checkpoint')
