# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/analysis_tools/benchmark_infer.py on the tiny AdaptFormer config."""
import json

import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool


def test_benchmark_infer_smoke(tmp_path, capsys, clean_loggers):
    out = tmp_path / 'infer.json'
    result = load_tool('analysis_tools/benchmark_infer.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '2', '--prefix-layers',
        '-1', '--prefix-tasks', '2', '--repeat', '1', '--warmup', '0',
        '--work-dir',
        str(tmp_path), '--out',
        str(out)
    ])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert [row['tasks'] for row in result['mixed']] == [1, 2]
    for row in result['mixed']:
        assert row['mixed_per_s'] > 0 and row['one_after_another_per_s'] > 0
    # A task adds two AdaptMLPs 64 -> 8 -> 64, fc_norm and the BN+Linear
    # head (BN buffers without affine), float32.
    added = 2 * (64 * 8 + 8 + 8 * 64 + 64) + 2 * 64 + 259
    assert result['memory']['per_added_task_mb'] == [added * 4 / 2**20]
    # Adapters in the last block only: block 0 is shared.
    assert set(result['shared_prefix']['split_at'].values()) == {1}
    printed = capsys.readouterr().out
    assert 'AdaptFormer / stock' in printed and 'Shared prefix' in printed


def test_values_that_cannot_work_are_refused(capsys):
    """Each failed only after the models were built (IndexError,
    StatisticsError, ...)."""
    from helpers import TINY_VIDEO_CONFIG
    tool = load_tool('analysis_tools/benchmark_infer.py')
    for option in ('--tasks', '--batch-size', '--repeat', '--threads',
                   '--prefix-tasks'):
        with pytest.raises(SystemExit) as exit:
            tool.parse_args(['cfg.py', option, '0'])
        assert exit.value.code == 2
        assert f'{option}: must be >= 1' in capsys.readouterr().err
    with pytest.raises(SystemExit, match='this tool measures AdaptFormer'):
        tool.main([TINY_VIDEO_CONFIG])
