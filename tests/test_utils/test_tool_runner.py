# Copyright (c) mmadaptformer contributors. All rights reserved.
""":mod:`mmadaptformer.utils.tool_runner`: a tool run in this process
fails with its log and gives the output back; OpenCV's FFmpeg tag warnings
stay out of what a person reads."""
import glob
import os

import pytest
from helpers import REPO_ROOT

from mmadaptformer.utils.tool_runner import ToolRunner, ffmpeg_tag_warnings_to


def test_writing_webm_videos_prints_no_ffmpeg_tag_lines(tmp_path, capfd):
    from mmadaptformer.datasets.synthetic_ssv2 import make_synthetic_ssv2
    log = tmp_path / 'write_videos.log'
    with ffmpeg_tag_warnings_to(str(log)):
        make_synthetic_ssv2(str(tmp_path / 'd'), 'direction', 4, 2, seed=0)
        os.write(2, b'a real problem\n')
    out, err = capfd.readouterr()
    assert 'is not supported' not in out + err
    # Other lines still reach the terminal...
    assert 'a real problem' in err
    # ...and the tag lines did happen (OpenCV prints one per webm video);
    # they are in the log.
    assert len(
        glob.glob(str(tmp_path / 'd' / '**' / '*.webm'), recursive=True)) == 6
    assert log.read_text().count('is not supported') == 6


def test_a_tool_failing_in_process_names_its_log_and_restores_output(
        tmp_path, capfd):
    log = tmp_path / 'build_file_list.log'
    with pytest.raises(RuntimeError) as e:
        ToolRunner(REPO_ROOT).run_here('data/ssv2/build_file_list.py',
                                       [tmp_path / 'no_annotations', tmp_path],
                                       str(log))
    message = str(e.value)
    assert f'log {log}' in message
    assert 'no_annotations' in message and 'SystemExit' in message
    assert 'no_annotations' in log.read_text()
    print('after the tool')
    os.write(2, b'stderr after the tool\n')
    out, err = capfd.readouterr()
    assert 'after the tool' in out and 'stderr after the tool' in err
    assert 'no_annotations' not in out + err
