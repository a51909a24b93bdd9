# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Progress bars show on a terminal only, never under CI."""
import io

import pytest

from mmadaptformer.testing.terminal import pseudo_terminal
from mmadaptformer.utils.progress import progress_enabled, track_progress


@pytest.mark.parametrize('ci, enabled', [(None, True), ('true', False),
                                         ('TRUE', False), ('1', False),
                                         ('false', True), ('', True)])
def test_progress_shows_on_a_terminal_unless_ci(monkeypatch, ci, enabled):
    if ci is None:
        monkeypatch.delenv('CI', raising=False)
    else:
        monkeypatch.setenv('CI', ci)
    with pseudo_terminal() as (tty, read):
        assert progress_enabled(tty) is enabled
        assert list(track_progress(range(7), 'Counting', stream=tty)) == \
            list(range(7))
        out = read()
    if enabled:
        assert out.startswith('Counting\r\n')
        # Counts, rate and ETA of MMEngine's ProgressBar.
        assert '7/7' in out and 'task/s' in out and 'ETA' in out
    else:
        assert out == ''


def test_progress_is_quiet_off_a_terminal(monkeypatch):
    monkeypatch.delenv('CI', raising=False)
    stream = io.StringIO()
    assert not progress_enabled(stream)
    assert list(track_progress(['a', 'b'], 'Counting',
                               stream=stream)) == ['a', 'b']
    assert stream.getvalue() == ''


def test_bar_is_redrawn_at_most_every_min_interval(monkeypatch):
    monkeypatch.delenv('CI', raising=False)
    with pseudo_terminal() as (tty, read):
        for _ in track_progress(
                range(1000), 'Fast', stream=tty, min_interval=60):
            pass
        out = read()
    # The start and one final draw, not a thousand.
    assert out.count('\r[') == 1 and '1000/1000' in out
