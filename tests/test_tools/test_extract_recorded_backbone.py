# Copyright (c) mmadaptformer contributors. All rights reserved.
"""extract_adapters.py given a merged file and a ``--pretrained`` backbone
other than the one the file records (merge_adapters.py verified that
one) says so first, naming the recorded backbone: before, every frozen
tensor was called trained and the line's first advice was an
``extra_trainable`` pattern for each module of the backbone."""
import os.path as osp
import re

import pytest
from helpers import load_tool


def _inner(tool, name):
    module = load_tool(tool)
    return lambda argv: getattr(module, name)(module.parse_args(argv))


def test_extract_names_the_recorded_backbone(video_tasks, tmp_path, capsys,
                                             clean_loggers):
    extract = _inner('model_converters/extract_adapters.py', 'extract')
    merge = _inner('model_converters/merge_adapters.py', 'merge')
    task = video_tasks['full']
    merged = str(tmp_path / 'merged.pth')
    merge([task['config'], task['checkpoint'], merged])
    other = osp.join(video_tasks['root'], 'other.pth')
    out = str(tmp_path / 'adapters.pth')
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        extract([task['config'], merged, out, '--pretrained', other])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert re.search(
        rf'differ from --pretrained {re.escape(other)} in '
        rf'{re.escape(merged)} \(.*\), which records that its adapters '
        rf'were trained on {re.escape(video_tasks["stock"])} '
        r'\(merge_adapters.py verified it\): give that one with '
        r'--pretrained, or leave --pretrained out', err), err
    # The trained-tensors advice stays, second.
    assert err.index('give that one') < err.index('extra_trainable=[')
    # Left out, the recorded backbone is compared with, and matches.
    extract([task['config'], merged, out])
