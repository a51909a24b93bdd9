# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py`` writes a stopped run's results beside ``--out``
(``results.partial.json``), never over it: that file must not be one it
reads either, or a stop would replace it. Refused before any model loads,
as an ``--out`` that is a file read is."""
import pytest
from media_files import write_clip

ERROR = ': error: '  # after the program name, as argparse says it


def test_a_partial_results_file_that_is_a_file_read_is_refused(
        infer, stock_video_model, tmp_path, capsys, clean_loggers):
    clip = write_clip(str(tmp_path / 'clip.partial.mp4'), num_frames=12)
    with open(clip, 'rb') as f:
        video = f.read()
    out = tmp_path / 'clip.mp4'
    with pytest.raises(SystemExit) as end:
        infer([
            stock_video_model['config'], stock_video_model['checkpoint'], clip,
            '--out',
            str(out)
        ])
    assert end.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.partition(ERROR)[2] == (
        'the file beside --out that a stopped run writes its results so far '
        f'to, {clip} is the same file as the input {clip}: writing it would '
        'replace the input. Give another file.'), line
    assert not out.exists()
    with open(clip, 'rb') as f:
        assert f.read() == video
