# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``--label-map`` whose every line is ``<index> <name>`` (``0
abseiling``) is read as MMAction2's and MMPretrain's readers read it
(``mmengine.list_from_file``: the whole line is the name, ``"0
abseiling"``), with a one-line warning naming the file and its first line,
once: the APIs give it (tests/test_apis/test_numbered_label_map.py), and
infer.py does not repeat it. Before, the numbers went into every printed
class name unsaid."""
import json

from adapter_tasks import random_task_checkpoints, val_videos
from media_files import write_clip
from mmengine.fileio import list_from_file
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.apis.label_maps import numbered_names_note


def _warning(label_map):
    return (
        f'Label map {label_map}: every line starts with its index (line 1: '
        "'0 abseiling'), which is kept as part of the class name, as "
        "MMAction2's and MMPretrain's label map readers keep it: the "
        'class of label i is the whole of line i + 1. Remove the indices '
        'if they are not part of the names.')


def test_a_numbered_label_map_is_read_as_upstream_reads_it_and_said(
        stock_video_model, tiny_video_data, tmp_path):
    label_map = tmp_path / 'numbered.txt'
    label_map.write_text('0 abseiling\n1 air drumming\n')
    # What MMAction2's ActionRecogInferencer(label_file=) and MMPretrain's
    # datasets (classes=FILE) take as the names.
    assert list_from_file(str(label_map)) == ['0 abseiling', '1 air drumming']
    video, = val_videos(tiny_video_data, 1)
    proc = run_tool([
        'infer.py', stock_video_model['config'],
        stock_video_model['checkpoint'], video, '--label-map',
        str(label_map), '--out', '-'
    ],
                    cwd=str(tmp_path),
                    separate_stderr=True)
    result = json.loads(proc.stdout)[video]
    assert result['tiny']['class'] in ('0 abseiling', '1 air drumming')
    warnings = [line for line in proc.stderr.splitlines() if 'index' in line]
    assert len(warnings) == 1, proc.stderr
    assert warnings[0].endswith(_warning(label_map)), warnings


def test_a_tasks_numbered_label_map_is_said_once(tmp_path):
    first, = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction',
                                     tmp_path, (1, ))
    label_map = tmp_path / 'numbered.txt'
    label_map.write_text('0 abseiling\n1 air drumming\n')
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    proc = run_tool([
        'infer.py', '--task', 'a', TINY_ADAPTFORMER_VIDEO_CONFIG, first, clip,
        '--label-map', f'a={label_map}'
    ],
                    cwd=str(tmp_path),
                    separate_stderr=True)
    assert proc.stdout.startswith(f'{clip}: a: ')
    warnings = [line for line in proc.stderr.splitlines() if 'index' in line]
    assert len(warnings) == 1, proc.stderr
    # It names the task whose label map it is.
    assert warnings[0].endswith(f"Task 'a': {_warning(label_map)}"), warnings


def test_names_that_only_start_with_numbers_are_not_said(tmp_path):
    """Names such as "3 point shot", or numbers that are no line's index,
    are names: no warning."""
    label_map = tmp_path / 'names.txt'
    for text in ('3 point shot\n4 wheel drive\n', '0 a\n2 b\n',
                 '0 abseiling\nair drumming\n', '1 a\n2 b\n3 c\n'):
        label_map.write_text(text)
        expected = text.startswith('1 a')
        names = text.splitlines()
        assert (numbered_names_note(str(label_map), names)
                is not None) == expected
