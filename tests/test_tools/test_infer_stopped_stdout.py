# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``tools/infer.py --out -`` run stopped by Ctrl-C prints the answers
so far to stdout as one JSON document, which reads like a whole run's; its
last line on stderr now says that the JSON holds those inputs only. Before
it said only that the results "were printed", and nothing but the exit
status told a user that the JSON was partial."""
import json
import re
import signal

from checkpoint_makers import save_stock_video_checkpoint
from repo_paths import TINY_VIDEO_CONFIG
from stopped_infer import INPUTS, linked_inputs, stopped_infer

from mmadaptformer.apis.infer_stop import InferStage


def test_a_stopped_run_says_its_stdout_json_is_partial(tmp_path):
    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    videos = linked_inputs(tmp_path)
    status, stdout, err = stopped_infer(
        [TINY_VIDEO_CONFIG, checkpoint, videos, '--out', '-'], signal.SIGINT,
        tmp_path)
    assert status == 130, err[-3000:]
    results = json.loads(stdout)
    last = err.strip().splitlines()[-1]
    match = re.fullmatch(
        r'infer\.py: stopped by Ctrl-C \(SIGINT\): the results of the '
        rf'(\d+) of {INPUTS} inputs answered before it were printed to '
        r'stdout as JSON, which holds no other input; the other (\d+) were '
        r'not classified', last)
    assert match, last
    answered = int(match.group(1))
    assert len(results) == answered
    assert int(match.group(2)) == INPUTS - answered


def test_what_a_stop_leaves_with_out_stdout():
    stage = InferStage()
    stage.start('-', None)
    stage.reach('classifying')
    stage.stopped_after({'a.mp4': {'t': {}}}, 3)
    stage.reach('printed')
    assert stage.left() == (
        'the results of the 1 of 3 inputs answered before it were printed '
        'to stdout as JSON, which holds no other input; the other 2 were '
        'not classified')
