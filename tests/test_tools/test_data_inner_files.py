# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Guard of kept behaviour: a data tool given a folder that is there but
lacks the dataset's files ends with one line naming the file it looked
for, exit status 1 (found while reading the folder; the README's
exit-status rule says why), in all five data tools alike."""
import pytest
from tool_runners import run_tool

TOOLS = [
    ('data/cifar100/check_cifar100.py', False, 'cifar-100-python'),
    ('data/food101/build_file_list.py', True, 'classes.txt'),
    ('data/hmdb51/build_file_list.py', True, '_test_split1.txt'),
    ('data/ssv2/build_file_list.py', True, 'labels.json'),
    ('data/svhn/convert_svhn.py', True, 'train_32x32.mat'),
]


@pytest.mark.parametrize('tool, takes_out, named', TOOLS)
def test_files_missing_in_a_folder_that_is_there(tool, takes_out, named,
                                                 tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    out = tmp_path / 'out'
    argv = [str(empty), str(out)] if takes_out else [str(empty)]
    proc = run_tool([tool] + argv, cwd=tmp_path, check=False)
    assert proc.returncode == 1, proc.stdout
    assert 'Traceback' not in proc.stdout
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith('error: ') and named in last, last
    assert str(empty) in last
    assert not out.exists()
