# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py --list -: the list read from standard input
(``find clips -name '*.mp4' | infer.py CONFIG CHECKPOINT --list -``), its
relative paths resolved against the current directory or --list-root.
``--list -`` was refused ("--list -: no such file")."""
import io
import json
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys

import pytest
from helpers import TOOLS

ERROR = ': error: '  # after the program name, as argparse says it


def _shell(script, cwd):
    """Run a bash pipeline as a user types it; its result."""
    return subprocess.run(['bash', '-c', f'set -o pipefail; {script}'],
                          cwd=cwd,
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_find_piped_into_list_dash(stock_video_model, tiny_video_data,
                                   tmp_path):
    """``find`` into ``--list -`` after an INPUT, in the pipe's order; the
    paths relative to the current directory, and a second list relative
    to --list-root."""
    videos = tiny_video_data['videos']
    names = sorted(os.listdir(videos))
    (tmp_path / 'data' / 'sub').mkdir(parents=True)
    shutil.copy(osp.join(videos, names[0]), tmp_path / 'data' / 'a.mp4')
    shutil.copy(
        osp.join(videos, names[1]), tmp_path / 'data' / 'sub' / 'b.mp4')
    (tmp_path / 'data' / 'notes.txt').write_text('not a video\n')
    first = osp.join(videos, names[2])
    infer = ' '.join(
        map(shlex.quote, [
            sys.executable,
            osp.join(TOOLS, 'infer.py'), stock_video_model['config'],
            stock_video_model['checkpoint'], first, '--list', '-', '--out', '-'
        ]))
    proc = _shell(f"find data -name '*.mp4' | sort -r | {infer}", tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert list(results) == [first, 'data/sub/b.mp4', 'data/a.mp4']
    for answer in results.values():
        assert len(answer['tiny']['scores']) == 2
    # --list-root: the annotation lines of val.txt on stdin.
    proc = _shell(
        f'{infer} --list-root {shlex.quote(videos)} '
        f'< {shlex.quote(tiny_video_data["val"])}', tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(tiny_video_data['val']) as f:
        listed = [line.split()[0] for line in f if line.strip()]
    assert list(json.loads(proc.stdout)) == \
        [first] + [osp.join(videos, name) for name in listed]


def _refusal(infer, argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        infer(argv)
    assert exit_.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert ERROR in line, line
    return line.partition(ERROR)[2]


def test_list_dash_refusals(infer, stock_video_model, tmp_path, capsys,
                            monkeypatch):
    """Given twice, or naming a path that is not there (the line and the
    folder it was resolved against are named), it is refused before any
    model loads."""
    monkeypatch.chdir(tmp_path)
    one = [stock_video_model['config'], stock_video_model['checkpoint']]
    assert _refusal(infer, one + ['--list', '-', '--list', '-'], capsys) == (
        '--list - is given 2 times; standard input is read once, so give '
        'it once')
    (tmp_path / 'a.mp4').write_bytes(b'')
    monkeypatch.setattr(sys, 'stdin',
                        io.TextIOWrapper(io.BytesIO(b'a.mp4\ngone.mp4\n')))
    assert _refusal(infer, one + ['--list', '-'], capsys) == (
        "--list - (standard input), line 2: 'gone.mp4' does not exist; 1 of "
        'the 2 paths listed is missing. Relative paths are resolved against '
        "'.' (the current directory); give --list-root DIR to resolve them "
        'against another folder (the data_prefix of an annotation file).')
    monkeypatch.setattr(sys, 'stdin',
                        io.TextIOWrapper(io.BytesIO(b'# nothing\n\n')))
    assert _refusal(infer, one + ['--list', '-'], capsys) == (
        '--list - (standard input): names no path (only blank lines and # '
        'comments); expected one path a line.')
    assert not os.path.exists('-')
