# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The data tools refuse an input folder that is not there (or is a file)
as a command-line error, exit status 2, before anything is written, as
the other tools refuse a CONFIG or CHECKPOINT that is not there.

Before, each ended with exit status 1, as if reading the data had failed
(``error: HMDB51 split folder not found: nope``, ``error: SSv2 labels JSON
not found: nope/something-something-v2-labels.json``). What a folder that
is there lacks is still found while reading it (exit status 1).
"""
import pytest
from tool_modules import load_tool, tool_refusal

TOOLS = [
    ('data/cifar100/check_cifar100.py', 'DATA_ROOT', False),
    ('data/food101/build_file_list.py', 'ROOT', True),
    ('data/hmdb51/build_file_list.py', 'SPLIT_DIR', True),
    ('data/ssv2/build_file_list.py', 'ANN_DIR', True),
    ('data/svhn/convert_svhn.py', 'MAT_DIR', True),
]


@pytest.mark.parametrize('tool, name, takes_out', TOOLS)
def test_a_missing_input_folder_is_a_usage_error(tool, name, takes_out,
                                                 tmp_path, capsys):
    out = tmp_path / 'out'
    nope = str(tmp_path / 'nope')
    argv = [nope, str(out)] if takes_out else [nope]
    err = tool_refusal(load_tool(tool), argv, capsys)
    assert f'error: {name} {nope}: no such folder' in err, err
    assert not out.exists()
    # A file where the folder goes.
    afile = tmp_path / 'a.txt'
    afile.write_text('x\n')
    argv = [str(afile), str(out)] if takes_out else [str(afile)]
    err = tool_refusal(load_tool(tool), argv, capsys)
    assert f'error: {name} {afile}: it is a file, not a folder' in err, err
