# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py`` with an input that changes after it was classified:
a video cut short once the model has read it is not named as shorter than
a clip (its frames cannot be counted again), and the run says why its
length is not known."""
import json

from drawn_frames import damaged_when_classified, gray_frames

from mmadaptformer.testing import write_video


def test_a_video_cut_after_its_classification_is_not_named_short(
        infer, stock_video_model, tmp_path, capsys, clean_loggers):
    """Before, the video that no longer opened was counted as 0 frames and
    named "classified 1 video shorter than a clip ... (0 of 10 frames)"."""
    damaged = write_video(
        str(tmp_path / 'in' / 'damaged.mp4'), gray_frames(12))
    good = write_video(str(tmp_path / 'in' / 'good.mp4'), gray_frames(12))
    out = tmp_path / 'r.json'
    with damaged_when_classified(damaged) as cut:
        status = infer([
            stock_video_model['config'], stock_video_model['checkpoint'],
            damaged, good, '--out',
            str(out)
        ])
    assert cut, 'the model never ran'
    err = capsys.readouterr().err
    assert status == 0  # both were classified whole
    assert 'classified 1 video shorter than a clip' not in err
    assert f'{damaged}: was classified, but its frames cannot be counted ' \
        'now (BrokenVideoError: truncated MP4/MOV file: ' in err
    assert 'so whether it is shorter than a clip is not known.' in err
    results = json.loads(out.read_text())
    assert 'error' not in results[damaged]['tiny']
