# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/analysis_tools/benchmark_add_task.py on the tiny AdaptFormer
config."""
import json
import os.path as osp
import re

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG,
                     assert_config_paths_refused, load_tool)


def test_benchmark_add_task_smoke(tmp_path, capsys, clean_loggers):
    # In a folder that is not there yet (it was a FileNotFoundError
    # traceback after the run): made, and the file written whole.
    out = tmp_path / 'new' / 'add_task.json'
    result = load_tool('analysis_tools/benchmark_add_task.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '3', '--in-process',
        '--work-dir',
        str(tmp_path), '--out',
        str(out)
    ])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    assert [row['tasks'] for row in result['rows']] == [1, 3]
    for row in result['rows']:
        assert len(row['cpu_s_per_task']) == row['tasks']
        assert row['cpu_s'] == pytest.approx(sum(row['cpu_s_per_task']))
        assert row['peak_rss_mb'] >= 0
    # Each added task holds two AdaptMLPs 64 -> 8 -> 64, fc_norm and the
    # BN+Linear head (BN buffers without affine), float32.
    added = 2 * (64 * 8 + 8 + 8 * 64 + 64) + 2 * 64 + 259
    one, three = (row['tensor_mb'] for row in result['rows'])
    assert three - one == pytest.approx(2 * added * 4 / 2**20)
    said = capsys.readouterr()
    printed = said.out
    assert '| tasks | add_task CPU s' in printed
    # Progress goes to stderr: stdout (benchmark_add_task.py ... > t.md)
    # holds the table alone.
    assert printed.startswith('CPU: '), printed
    assert '1 task(s) ...' in said.err
    # No build messages or per-tensor init reports around the table.
    assert 'mmengine - INFO' not in printed and 'torch.Size' not in printed
    # The peak is what adding the tasks costs above the process before it,
    # and says so: this process alone (torch, both toolboxes) is hundreds
    # of MB.
    with open('/proc/self/status') as f:
        rss_mb = int(
            re.search(r'^VmRSS:\s+(\d+) kB', f.read(), re.M).group(1)) / 1024
    assert all(row['peak_rss_mb'] < rss_mb / 2 for row in result['rows'])
    assert 'peak RSS above the process before the first add_task ' \
        '(libraries imported, empty engine)' in printed
    # Sizes are 2**20 bytes and say so (they were labelled MB: the ViT-B
    # task checkpoint of 5.3 MB read '5.09 MB').
    assert '| peak RSS above pre-add_task MiB | tensors held MiB |' in printed
    size = osp.getsize(tmp_path / 'task0_all.pth') / 2**20
    assert f'task checkpoint {size:.2f} MiB.' in printed


def test_values_that_cannot_work_are_refused(tmp_path, capsys):
    tool = load_tool('analysis_tools/benchmark_add_task.py')
    for option in ('--tasks', '--threads'):
        with pytest.raises(SystemExit) as exit:
            tool.parse_args(['cfg.py', option, '0'])
        assert exit.value.code == 2
        # In benchmark_train.py's words, not argparse's
        # ('argument --threads: must be >= 1, got 0').
        assert f'error: {option} must be >= 1, got 0\n' in \
            capsys.readouterr().err
    assert_config_paths_refused(tool, 'benchmark_add_task.py', tmp_path,
                                capsys)


def test_a_config_without_an_adapter_hook_is_a_usage_error(tmp_path, capsys):
    """An AdaptFormer config whose custom_hooks hold no AdapterHook ends
    the tool with one usage line (exit status 2) before anything is
    written; it was a ConfigError traceback about 'the config the
    checkpoint was trained with' after the pretrained file was written."""
    tool = load_tool('analysis_tools/benchmark_add_task.py')
    with pytest.raises(SystemExit) as exit:
        tool.main([
            TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--in-process',
            '--work-dir',
            str(tmp_path), '--cfg-options', 'custom_hooks=[]'
        ])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert 'benchmark_add_task.py: error: config ' \
        f'{TINY_ADAPTFORMER_VIDEO_CONFIG}: custom_hooks hold no AdapterHook' \
        in err
    assert list(tmp_path.iterdir()) == []
