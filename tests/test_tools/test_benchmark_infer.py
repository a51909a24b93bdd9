# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/analysis_tools/benchmark_infer.py on the tiny AdaptFormer config."""
import json

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG,
                     assert_config_paths_refused, load_tool)


def test_benchmark_infer_smoke(tmp_path, capsys, clean_loggers):
    # In a folder that is not there yet (it was a FileNotFoundError
    # traceback after the run): made, and the file written whole.
    out = tmp_path / 'new' / 'infer.json'
    result = load_tool('analysis_tools/benchmark_infer.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '2', '--prefix-layers',
        '-1', '--prefix-tasks', '2', '--repeat', '1', '--warmup', '0',
        '--work-dir',
        str(tmp_path), '--out',
        str(out)
    ])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    assert [row['tasks'] for row in result['mixed']] == [1, 2]
    for row in result['mixed']:
        assert row['mixed_per_s'] > 0 and row['one_after_another_per_s'] > 0
    # A task adds two AdaptMLPs 64 -> 8 -> 64, fc_norm and the BN+Linear
    # head (BN buffers without affine), float32.
    added = 2 * (64 * 8 + 8 + 8 * 64 + 64) + 2 * 64 + 259
    assert result['memory']['per_added_task_mb'] == [added * 4 / 2**20]
    # Adapters in the last block only: block 0 is shared.
    assert set(result['shared_prefix']['split_at'].values()) == {1}
    said = capsys.readouterr()
    printed = said.out
    assert 'speed vs stock' in printed and 'Shared prefix' in printed
    # Progress goes to stderr: stdout (benchmark_infer.py ... > t.md)
    # holds the tables alone.
    assert printed.startswith('CPU: '), printed
    assert 'AdaptFormer vs stock ...' in said.err
    # No build messages or per-tensor init reports around the tables.
    assert 'mmengine - INFO' not in printed and 'torch.Size' not in printed
    # Both clocks of every variant, the throughput from the wall-clock one.
    vs = result['vs_stock']
    assert vs['adaptformer_per_s'] == pytest.approx(
        2 / vs['seconds']['adaptformer']['wall_s'])
    assert vs['ratio'] == pytest.approx(vs['seconds']['stock']['cpu_s'] /
                                        vs['seconds']['adaptformer']['cpu_s'])


def test_prefix_layers_the_model_lacks_are_refused_before_timing(
        tmp_path, capsys, clean_loggers):
    """Guard of kept behaviour: given blocks the model lacks (the last
    three on a model of two) are refused, naming the valid range, before
    anything is timed."""
    with pytest.raises(SystemExit) as exc:
        load_tool('analysis_tools/benchmark_infer.py').main([
            TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--prefix-layers',
            '-3', '-2', '-1', '--work-dir',
            str(tmp_path)
        ])
    assert exc.value.code == 2
    printed = capsys.readouterr()
    assert printed.err.endswith(
        f'benchmark_infer.py: error: config {TINY_ADAPTFORMER_VIDEO_CONFIG}: '
        'prefix_layers=[-3, -2, -1] (the adapted blocks of the shared-prefix '
        'row): model.backbone.layers=[-3, -2, -1] contains -3, but the model '
        'has 2 adaptable blocks, so valid indices are 0..1 (or -2..-1).\n')
    assert 'AdaptFormer vs stock' not in printed.out


def test_default_prefix_layers_fit_a_model_of_fewer_blocks(
        tmp_path, capsys, clean_loggers):
    """Without --prefix-layers, a model of two blocks was refused for the
    default last three; then both of its blocks were adapted, so nothing
    was shared (split_at 0). The default is now the last min(3, N - 1)
    blocks, and the output and the JSON say so."""
    out = tmp_path / 'infer.json'
    result = load_tool('analysis_tools/benchmark_infer.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--prefix-tasks', '2',
        '--repeat', '1', '--warmup', '0', '--work-dir',
        str(tmp_path), '--out',
        str(out)
    ])
    prefix = result['shared_prefix']
    assert prefix['layers'] == [-1]
    assert prefix['blocks'] == [1] and prefix['num_blocks'] == 2
    # Adapters in the last block only: block 0 is shared.
    assert set(prefix['split_at'].values()) == {1}
    source = ("default, the last 1 of the model's 2 adaptable blocks "
              '(min(3, N - 1), so that at least one block is shared; '
              '--prefix-layers not given)')
    assert prefix['layers_source'] == source
    assert json.loads(out.read_text())['shared_prefix'] == json.loads(
        json.dumps(prefix))
    printed = capsys.readouterr().out
    # The block a reader counts, not the index -1.
    assert ("Shared prefix: 2 tasks with adapters in block 1 of the model's "
            '2 adaptable blocks (0-1): ') in printed
    assert f'Shared-prefix blocks: {source}.' in printed


def test_given_prefix_layers_are_said_to_be_given(tmp_path, capsys,
                                                  clean_loggers):
    result = load_tool('analysis_tools/benchmark_infer.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--prefix-layers', '1',
        '--prefix-tasks', '2', '--repeat', '1', '--warmup', '0', '--work-dir',
        str(tmp_path)
    ])
    assert result['shared_prefix']['layers'] == [1]
    assert result['shared_prefix']['layers_source'] == \
        'given (--prefix-layers)'
    assert set(result['shared_prefix']['split_at'].values()) == {1}
    assert 'Shared-prefix blocks: given (--prefix-layers).' in \
        capsys.readouterr().out


class _BusyThreads:
    """The clocks of a process whose timed calls keep ``threads`` threads
    busy: each call takes 1 s of wall-clock time and ``threads`` s of
    process CPU time (the sum over its threads)."""

    def __init__(self, threads):
        self.threads = threads
        self.wall = self.cpu = 0.

    def perf_counter(self):
        self.wall += 1.
        return self.wall

    def process_time(self):
        self.cpu += self.threads
        return self.cpu


def test_throughput_is_per_wall_clock_second_on_many_threads(
        tmp_path, capsys, monkeypatch, clean_loggers):
    """It was per second of process CPU time, which on 4 busy threads
    passes 4 times faster than the clock: 4x too few clips/s. The ratios
    stay in CPU time (alike on both sides)."""
    from mmadaptformer.apis import benchmark
    monkeypatch.setattr(benchmark, 'time', _BusyThreads(4))
    result = load_tool('analysis_tools/benchmark_infer.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '2', '--prefix-layers',
        '-1', '--prefix-tasks', '2', '--repeat', '1', '--warmup', '0',
        '--work-dir',
        str(tmp_path)
    ])
    # A batch of 2 inputs per 1 s call.
    vs = result['vs_stock']
    assert (vs['adaptformer_per_s'], vs['stock_per_s'],
            vs['ratio']) == (2., 2., 1.)
    assert vs['seconds']['stock'] == dict(cpu_s=4., wall_s=1.)
    for row in result['mixed']:
        answers = 2. * row['tasks']
        assert (row['mixed_per_s'], row['one_after_another_per_s'],
                row['single_task_same_rows_per_s']) == (answers, ) * 3
        assert row['mixed_vs_one_after_another'] == 1.
    prefix = result['shared_prefix']
    assert (prefix['shared_per_s'], prefix['fan_out_at_block_0_per_s'],
            prefix['speedup']) == (4., 4., 1.)
    assert result['clocks'] == dict(throughput='wall', ratios='process CPU')
    printed = capsys.readouterr().out
    assert 'Throughputs (/s) in wall-clock time; speed ratios (x, above 1: ' \
        'faster) in process CPU time' in printed
    assert '| model | inputs/s (wall) | speed vs stock (x, CPU time) |' \
        in printed
    assert '| 1 | 2.00 | 2.00 | 2.00 | 1.00 | 1.00 |' in printed


def test_times_of_reads_both_clocks():
    import time

    from mmadaptformer.apis.benchmark import times_of
    cpu, wall = times_of(lambda: time.sleep(0.05))
    # Asleep: the clock moved, the CPU hardly did.
    assert wall >= 0.05 and cpu < 0.04


def test_values_that_cannot_work_are_refused(tmp_path, capsys):
    """Each failed only after the models were built (IndexError,
    StatisticsError, ...)."""
    tool = load_tool('analysis_tools/benchmark_infer.py')
    for option in ('--tasks', '--batch-size', '--repeat', '--threads',
                   '--prefix-tasks'):
        with pytest.raises(SystemExit) as exit:
            tool.parse_args(['cfg.py', option, '0'])
        assert exit.value.code == 2
        # In benchmark_train.py's words, not argparse's
        # ('argument --threads: must be >= 1, got 0').
        assert f'error: {option} must be >= 1, got 0\n' in \
            capsys.readouterr().err
    for argv, said in ((['--warmup', '-1'], '--warmup must be >= 0, got -1'),
                       (['--tasks', '1', '0'], '--tasks must be >= 1, got 0')):
        with pytest.raises(SystemExit) as exit:
            tool.parse_args(['cfg.py'] + argv)
        assert exit.value.code == 2
        assert f'error: {said}\n' in capsys.readouterr().err
    assert_config_paths_refused(tool, 'benchmark_infer.py', tmp_path, capsys)
