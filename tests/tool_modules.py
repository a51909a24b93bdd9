# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tools imported as modules, and their in-process usage errors."""
import importlib.util
import os.path as osp
from types import ModuleType
from typing import List

import pytest
from repo_paths import TINY_VIDEO_CONFIG, TOOLS


def load_tool(path: str) -> ModuleType:
    """Import a script under ``tools/`` as a module, without running its
    ``main``; e.g. ``load_tool('analysis_tools/get_flops.py')``."""
    name = 'mmadaptformer_tool_' + path[:-3].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, osp.join(TOOLS, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_config_paths_refused(tool, name: str, tmp_path, capsys) -> None:
    """The analysis tool ``tool`` (its module, run as ``name``) refuses, as
    command-line errors (exit status 2, was 1 or a traceback) found before
    anything is built: a config of the wrong kind (the stock tiny video
    one, for a tool of AdaptFormer tasks), a missing config, a file that is
    not a config, one without a model, and an ``--out`` that is a folder.
    """
    no_model = tmp_path / 'no_model.py'
    no_model.write_text('x = 1\n')
    notes = tmp_path / 'notes.txt'
    notes.write_text('batch 2\n')
    cases = [
        ([TINY_VIDEO_CONFIG], f'config {TINY_VIDEO_CONFIG}: model.backbone '
         'is VisionTransformer, but this tool measures AdaptFormer tasks'),
        ([str(tmp_path / 'nope.py')], 'no such file'),
        ([str(notes)], 'not a config file'),
        ([str(no_model)], 'it has no model dict'),
        ([TINY_VIDEO_CONFIG, '--out',
          str(tmp_path)], 'it is a folder'),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit:
            tool.main(argv)
        assert exit.value.code == 2
        err = ' '.join(capsys.readouterr().err.split())
        assert f'{name}: error: ' in err and message in err, err


def tool_refusal(tool, argv: List[str], capsys) -> str:
    """Run ``tool`` (a module of :func:`load_tool`) on ``argv``; what it
    said on stderr, ending with exit status 2 (a command-line error)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        tool.main(argv)
    assert refused.value.code == 2
    return capsys.readouterr().err
