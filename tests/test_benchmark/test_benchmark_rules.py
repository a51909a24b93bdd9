# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The benchmark tools' argument rules are one set
(``mmadaptformer.benchmark.options``): ``gpu_check.sh``'s speed options
are refused as ``benchmark_train.py`` refuses them, and ``--threads``
above the usable cores warns in all three benchmark tools.

Before, ``gpu_check.sh`` kept a copy of the rules (its ``--amp fp16``
line already said otherwise), ``benchmark_infer.py`` and
``benchmark_add_task.py`` set ``--threads 3`` on a 2-core machine without
a word, and a ``train_dataloader.batch_size`` that is not a number ended
``benchmark_train.py`` with a ``TypeError`` traceback (the line for a
config's batch size was picked by matching its label's prefix).
"""
import os

import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool

from mmadaptformer import benchmark
from mmadaptformer.benchmark.gpu_check.runner import parse_gpu_check_args


def _refusal(parse, argv, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        parse(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1].split(
        ': error: ', 1)[1]


@pytest.mark.parametrize('argv', [
    ['--batch-size', '1'],
    ['--iters', '0'],
    ['--warmup', '-1'],
    ['--num-frames', '0'],
    ['--matmul-size', '0'],
    ['--img-size', '32', '32', '32'],
    ['--device', 'cpu', '--amp', 'bf16', 'fp16'],
])
def test_gpu_check_refuses_speed_options_as_benchmark_train(argv, capsys):
    train = _refusal(benchmark.parse_args,
                     [TINY_ADAPTFORMER_VIDEO_CONFIG] + argv, capsys)
    assert _refusal(parse_gpu_check_args, argv, capsys) == train


def test_every_count_rule_is_checked(capsys):
    """Guard of kept behaviour: each option of the table is refused below
    its least value, with its reason where it has one."""
    for name, (least, why) in benchmark.LEAST_VALUES.items():
        flag = '--' + name.replace('_', '-')
        said = _refusal(benchmark.parse_args,
                        [TINY_ADAPTFORMER_VIDEO_CONFIG, flag,
                         str(least - 1)], capsys)
        assert said == (f'{flag} must be >= {least}, got {least - 1}' +
                        (f': {why}' if why else ''))


@pytest.mark.parametrize('value, said', [
    (None, 'has no train_dataloader.batch_size to take the batch size from'),
    (1, 'trains in batches of 1 (train_dataloader.batch_size)'),
    ('two', "has train_dataloader.batch_size = 'two', not an int"),
])
def test_the_configs_batch_size_is_told_by_its_value(value, said):
    assert benchmark.config_batch_size_problem(
        'c.py', value) == (f'c.py {said}; give --batch-size 2 or more: '
                           f'{benchmark.BATCH_SIZE_REASON}')
    assert benchmark.config_batch_size_problem('c.py', 2) is None


def test_a_batch_size_that_is_no_number_is_one_line(tmp_path):
    """It ended with ``TypeError: '<' not supported between instances of
    'str' and 'int'``."""
    proc = run_tool([
        'analysis_tools/benchmark_train.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        '--cfg-options', 'train_dataloader.batch_size=two'
    ],
                    cwd=tmp_path,
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 2, proc.stderr
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f'benchmark_train.py: error: {TINY_ADAPTFORMER_VIDEO_CONFIG} has '
        "train_dataloader.batch_size = 'two', not an int; give --batch-size "
        f'2 or more: {benchmark.BATCH_SIZE_REASON}')


@pytest.mark.parametrize('tool, argv', [
    ('benchmark_infer.py', [
        '--tasks', '1', '--repeat', '1', '--warmup', '0', '--prefix-tasks', '1'
    ]),
    ('benchmark_add_task.py', ['--tasks', '1']),
])
def test_threads_above_the_cores_warn_in_every_tool(tool, argv, tmp_path):
    cores = len(os.sched_getaffinity(0))
    proc = run_tool(
        ['analysis_tools/' + tool, TINY_ADAPTFORMER_VIDEO_CONFIG] + argv +
        ['--threads', cores + 1],
        cwd=tmp_path,
        timeout=600,
        separate_stderr=True)
    said = [
        line for line in proc.stderr.splitlines()
        if 'timings will be oversubscribed' in line
    ]
    assert len(said) == 1, proc.stderr
    assert said[0].endswith(benchmark.threads_problem(cores + 1))
    # A warning, not a line of the table.
    assert 'oversubscribed' not in proc.stdout
