# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/gpu_check.sh`` refuses speed-check sizes that
``benchmark_train.py`` refuses, before any check runs: on a GPU lent for
minutes, ``--batch-size 1`` ran every correctness check first and then
failed all three speed checks (``benchmark_train.py`` exit 2, and a
BatchNorm ``ValueError`` in ``official_baseline`` and ``profile``)."""
import pytest

from mmadaptformer.benchmark.gpu_check.runner import parse_gpu_check_args
from mmadaptformer.benchmark.options import BATCH_SIZE_REASON


@pytest.mark.parametrize(
    'argv, message',
    [
        (['--batch-size', '1'
          ], f'--batch-size must be >= 2, got 1: {BATCH_SIZE_REASON}'),
        (['--iters', '0'], '--iters must be >= 1, got 0'),
        (['--num-frames', '0'], '--num-frames must be >= 1, got 0'),
        (['--matmul-size', '0'], '--matmul-size must be >= 1, got 0'),
        (['--warmup', '-1'], '--warmup must be >= 0, got -1'),
        (['--img-size', '32', '32', '32'], '--img-size takes H or H W, got '
         '[32, 32, 32]'),
        # Ran every check on the CPU, then failed the benchmark check.
        (['--device', 'cpu', '--amp', 'bf16', 'fp16'],
         '--amp fp16 needs --device cuda: float16 autocast with loss scaling '
         'runs on a GPU only (use bf16 on the CPU)'),
    ])
def test_speed_sizes_benchmark_train_refuses_are_refused_first(
        argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_gpu_check_args(argv)
    assert exc.value.code == 2
    assert f'gpu_check.sh: error: {message}' in capsys.readouterr().err


def test_sizes_benchmark_train_takes_pass():
    """Guard of kept behaviour: the sizes README suggests for a short GPU
    slot parse."""
    args = parse_gpu_check_args(
        ['--batch-size', '4', '--num-frames', '4', '--warmup', '0'])
    assert (args.batch_size, args.num_frames, args.warmup) == (4, 4, 0)


def test_a_speed_config_that_is_no_model_config_is_refused_first(
        tmp_path, capsys):
    """``--speed-config`` of a config without a model dict was found only
    by the speed checks, after every correctness check had run, and named
    ``benchmark_train.py``: it is refused as the arguments are read."""
    config = tmp_path / 'no_model.py'
    config.write_text('train_cfg = dict(max_epochs=1)\n')
    with pytest.raises(SystemExit) as exc:
        parse_gpu_check_args(['--speed-config', str(config)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f'gpu_check.sh: error: config {config}: it has no model dict' \
        in err, err


def test_a_speed_config_that_does_not_load_is_refused_first(tmp_path, capsys):
    config = tmp_path / 'broken.py'
    config.write_text('model = dict(\n')
    with pytest.raises(SystemExit) as exc:
        parse_gpu_check_args(['--speed-config', str(config)])
    assert exc.value.code == 2
    assert f'gpu_check.sh: error: config {config}' in capsys.readouterr().err
