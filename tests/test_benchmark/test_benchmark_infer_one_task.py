# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``benchmark_infer.py --tasks 1`` adds no task to measure: its memory
line said ``each added task  MB``, a number missing."""
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool


def test_one_task_says_no_task_was_added(tmp_path, capsys, clean_loggers):
    result = load_tool('analysis_tools/benchmark_infer.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--prefix-tasks', '2',
        '--repeat', '1', '--warmup', '0', '--work-dir',
        str(tmp_path)
    ])
    assert result['memory']['per_added_task_mb'] == []
    memory = [
        line for line in capsys.readouterr().out.splitlines()
        if line.startswith('Memory (float32 tensors)')
    ]
    assert len(memory) == 1
    assert '; no task added (give --tasks 1 2 or more to measure one); ' \
        'one more whole model ' in memory[0]
    assert 'each added task' not in memory[0]
