# Copyright (c) mmadaptformer contributors. All rights reserved.
"""extract_adapters.py records as the adapters' backbone the pretrained
file it just compared the frozen tensors with (``--pretrained``), before
the one a merged checkpoint recorded.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
import os.path as osp
import re
import shutil

import pytest
from helpers import load_tool

from mmadaptformer.models import FrozenBackboneMismatchError


def _inner(tool, name):
    module = load_tool(tool)
    return lambda argv: getattr(module, name)(module.parse_args(argv))


def test_extract_records_the_pretrained_file_it_compared(
        video_tasks, tmp_path, clean_loggers):
    """A merged file records the stock backbone it was merged onto; given
    ``--pretrained`` (a copy of that backbone elsewhere, which compares
    equal), the adapter-only output names the copy: the file just
    verified, as extract's docstring says, not the recorded one (which may
    be gone)."""
    extract = _inner('model_converters/extract_adapters.py', 'extract')
    merge = _inner('model_converters/merge_adapters.py', 'merge')
    task = video_tasks['full']
    merged = str(tmp_path / 'merged.pth')
    merge([task['config'], task['checkpoint'], merged])
    copy = str(tmp_path / 'copy_of_stock.pth')
    shutil.copyfile(video_tasks['stock'], copy)
    adapters = str(tmp_path / 'adapters.pth')
    extract([task['config'], merged, adapters, '--pretrained', copy])
    other = osp.join(video_tasks['root'], 'other.pth')
    with pytest.raises(
            FrozenBackboneMismatchError,
            match=re.escape(f'The adapters were trained on {copy}.')):
        merge([
            task['config'], adapters,
            str(tmp_path / 'wrong.pth'), '--pretrained', other
        ])
