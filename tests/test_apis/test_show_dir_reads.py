# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The show_dir check looks at each file read once, not once per drawing."""
import os

import pytest

from mmadaptformer.apis.show_dir import show_dir_paths


def _count_stats(monkeypatch) -> list:
    """Count the ``os.stat`` calls (``os.path.exists``, ``samefile`` and
    the check's own) while the real ones run."""
    calls = []
    real = os.stat

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(os, 'stat', counted)
    return calls


def test_many_inputs_are_checked_in_time_linear_in_their_number(
        tmp_path, monkeypatch):
    clips = tmp_path / 'clips'
    clips.mkdir()
    inputs = []
    for i in range(300):
        (clips / f'{i:03d}.mp4').write_bytes(b'')
        inputs.append(str(clips / f'{i:03d}.mp4'))
    calls = _count_stats(monkeypatch)
    paths = show_dir_paths(str(tmp_path / 'drawn'), inputs, 'video')
    assert paths[inputs[7]] == str(tmp_path / 'drawn' / '007.mp4')
    # Each input compared with every other one took 300 * 300 stats.
    assert len(calls) < 10 * len(inputs), len(calls)


def test_a_drawing_over_a_file_read_is_still_refused(tmp_path):
    """Guard of kept behaviour: the first file read that a drawing would
    replace is named, a hard link to it included."""
    (tmp_path / 'drawn').mkdir()
    clip = tmp_path / 'clip.avi'
    clip.write_bytes(b'')
    config = tmp_path / 'cfg.py'
    config.write_text('')
    os.link(config, tmp_path / 'drawn' / 'clip.mp4')
    with pytest.raises(ValueError) as e:
        show_dir_paths(
            str(tmp_path / 'drawn'), [str(clip)],
            'video',
            reads=[(None, 'checkpoint'), (str(config), 'config'),
                   (str(config), 'label map')])
    assert str(e.value) == (
        f'--show-dir {tmp_path / "drawn"}: the drawing of {clip} would be '
        f'written over the config {config}; give another folder.')
