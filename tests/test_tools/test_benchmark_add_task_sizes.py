# Copyright (c) mmadaptformer contributors. All rights reserved.
"""benchmark_add_task.py reports the pretrained file's own size, and its
worker processes run with the ``--threads`` asked for.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
import os.path as osp

from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool


def test_pretrained_size_is_the_stock_file(tmp_path, capsys, clean_loggers):
    """``pretrained_mb`` is the size of the stock backbone file written as
    the pretrained one, not of a task checkpoint (which is far smaller)."""
    result = load_tool('analysis_tools/benchmark_add_task.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--in-process',
        '--work-dir',
        str(tmp_path)
    ])
    stock = osp.getsize(tmp_path / 'stock.pth') / 2**20
    task = osp.getsize(tmp_path / 'task0_all.pth') / 2**20
    assert stock > 2 * task
    assert result['pretrained_mb'] == stock
    assert result['checkpoint_mb'] == task
    assert f'pretrained file {stock:.1f} MiB' in capsys.readouterr().out


def test_workers_get_the_threads(tmp_path, monkeypatch, clean_loggers):
    """Each N is measured in a fresh process given ``--threads``: without
    it the worker measured with its default of 1 thread whatever was
    asked. The real workers run; their command lines are recorded."""
    calls = []
    tool = load_tool('analysis_tools/benchmark_add_task.py')
    run = tool.run_passing_stderr

    def recording_run(cmd, *args, **kwargs):
        calls.append(list(cmd))
        return run(cmd, *args, **kwargs)

    monkeypatch.setattr(tool, 'run_passing_stderr', recording_run)
    result = tool.main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '2', '--threads', '2',
        '--work-dir',
        str(tmp_path)
    ])
    assert [row['tasks'] for row in result['rows']] == [1, 2]
    workers = [
        c for c in calls if 'mmadaptformer.benchmark.add_task_worker' in c
    ]
    assert [c[c.index('--tasks') + 1] for c in workers] == ['1', '2']
    for cmd in workers:
        assert cmd[cmd.index('--threads') + 1] == '2'
