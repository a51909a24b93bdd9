# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The training benchmark's figures where a plausible slip would go
unnoticed: which steps count, which clock, which peak, which column."""
import importlib
import time

import pytest
import torch
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_modules import load_tool

from mmadaptformer import benchmark as tool
from mmadaptformer.benchmark import measure
from mmadaptformer.benchmark.memory import MB, PeakMemory

# The package's ``utilisation`` is the function of the same name.
utilisation = importlib.import_module('mmadaptformer.benchmark.utilisation')
gpu_check_tool = load_tool('analysis_tools/gpu_check.py')


def test_timed_cpu_clock_is_process_time():
    """Guards against the CPU column read from the wall clock (or the
    wall clock from the process clock): a sleep takes wall-clock time
    and next to no process CPU time."""
    wall, cpu = utilisation.timed(lambda: time.sleep(0.2), 2, 'cpu')
    assert len(wall) == len(cpu) == 2
    assert min(wall) >= 0.2
    assert 0 <= min(cpu) <= max(cpu) < 0.05


def test_matmul_rate_is_the_best_timed_product_after_warm_up(monkeypatch):
    """Guards against the reference matmul's warm-up products timed, its
    mean taken instead of its best, or a multiply-add counted as 1 FLOP:
    the rate is 2 n^3 over the fastest of the products after the first 2.
    """
    calls = []

    def timed(fn, n, device):
        calls.append(n)
        # The warm-up products are the fastest here: they must not count.
        wall = [0.5, 0.5, 4., 2., 8., 3., 5.]
        cpu = [0.1, 0.1, 6., 4., 9., 5., 7.]
        return wall, cpu

    monkeypatch.setattr(utilisation, 'timed', timed)
    wall, cpu = utilisation.matmul_flops_per_s('cpu', 'float32', 16, reps=5)
    assert calls == [7]
    assert wall == 2 * 16**3 / 2.
    assert cpu == 2 * 16**3 / 4.


def test_step_and_inference_times_skip_warm_up_and_take_the_median(
        monkeypatch, clean_loggers):
    """Guards against warm-up steps in the training or inference median,
    or the mean in place of the median (docs/benchmark.md: "the median of
    model.train_step ... after --warmup steps"; the same for
    model.test_step). The steps really run; their times are replaced by
    known ones: 2 warm-up steps of 100 s, then 1, 2 and 9 s."""
    real_timed, calls = measure.timed, []

    def timed(fn, n, device):
        real_timed(fn, n, device)
        calls.append(n)
        times = [100., 100., 1., 2., 9.]
        return times, [3 * t for t in times]

    monkeypatch.setattr(measure, 'timed', timed)
    args = tool.parse_args([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--iters', '3', '--warmup', '2',
        '--batch-size', '2'
    ])
    run = tool.measure_mode(args, 'adaptformer', 'none')
    assert calls == [5, 5]  # training, inference
    assert run['step_times_s'] == [1., 2., 9.]
    assert run['step_s'] == 2.
    assert run['step_cpu_s'] == 6.
    assert run['train_throughput'] == 2 / 2.
    assert run['infer_step_s'] == 2.
    assert run['infer_throughput'] == 2 / 2.
    assert run['achieved_flops_per_s'] == run['step_flops'] / 2.
    assert run['model_flops_per_s'] == run['model_flops'] / 2.


def test_cpu_peak_memory_is_reset_to_the_current_use():
    """Guards against a reset that keeps the process's earlier peak
    (VmHWM not cleared): memory touched and freed before the reset is not
    part of the peak after it."""
    memory = PeakMemory('cpu')
    big = torch.ones(256 * MB // 4)  # 256 MB, touched
    del big
    memory.reset()
    assert memory.note is None, memory.note
    small = torch.ones(8 * MB // 4)
    assert memory.peak_above_base() < 64 * MB
    assert memory.absolute_peak() < memory.base + 64 * MB
    del small


def _run(mode, amp, step_s, step_flops, model_flops):
    return dict(
        mode=mode,
        amp=amp,
        device='cuda',
        step_s=step_s,
        step_flops=step_flops,
        model_flops=model_flops)


def test_utilisation_peak_per_dtype_and_flops_kind():
    """Guards against MFU taken from executed FLOPs (or HFU from model
    FLOPs), and a peak looked up for another autocast dtype than the
    row's: bf16 and fp16 peaks differ here."""
    reference = dict(matmul_flops_per_s=1e12)
    peaks = dict(bf16=2., fp16=4.)
    for amp, peak in (('bf16', 2e12), ('fp16', 4e12)):
        u = tool.utilisation(
            _run('adaptformer', amp, 0.5, 3e12, 2e12), reference, peaks)
        assert u['peak_flops_per_s'] == peak
        assert u['mfu'] == pytest.approx(2e12 / 0.5 / peak)
        assert u['hfu'] == pytest.approx(3e12 / 0.5 / peak)
        assert u['matmul_utilisation'] == pytest.approx(3e12 / 0.5 / 1e12)
    u = tool.utilisation(
        _run('adaptformer', 'none', 0.5, 3e12, 2e12), reference, peaks)
    assert u['peak_flops_per_s'] is None
    assert u['mfu'] is None and u['hfu'] is None


def _fake_row(mode, amp, step_s, step_flops, model_flops, peaks):
    run = dict(
        _run(mode, amp, step_s, step_flops, model_flops),
        gpu='test GPU',
        trainable_params=1,
        static_mem_mb=1.,
        persistent_mem_mb=1.,
        peak_above_base_mb=2.,
        transient_mem_mb=1.,
        abs_peak_mem_mb=3.,
        train_throughput=1.,
        infer_throughput=1.)
    run.update(tool.utilisation(run, dict(matmul_flops_per_s=1e13), peaks))
    return run


def test_table_columns_carry_the_json_numbers():
    """Guards against the table printing one figure under another's
    header (HFU under MFU, the step ratio under the FLOP ratio): the
    FLOPs table's cells are the JSON's numbers."""
    peaks = dict(bf16=1.)
    rounds = [{
        'adaptformer@bf16':
        _fake_row('adaptformer', 'bf16', 0.5, 0.3e12, 0.2e12, peaks),
        'full_ft@bf16':
        _fake_row('full_ft', 'bf16', 1., 0.4e12, 0.35e12, peaks),
    }]
    rows, ratios, speedups = tool.summarize(rounds)
    row = rows['adaptformer@bf16']
    assert row['mfu']['median'] == pytest.approx(0.4)
    assert row['hfu']['median'] == pytest.approx(0.6)
    ratio = ratios['adaptformer@bf16']
    assert ratio['step_s']['median'] == 0.5
    assert ratio['model_flops']['median'] == pytest.approx(0.2 / 0.35)
    assert ratio['step_flops']['median'] == pytest.approx(0.75)
    table = tool.format_table(rows, ratios, speedups, 'clips')
    lines = table.splitlines()
    # The FLOPs table: its header, then its rows.
    start = next(i for i, line in enumerate(lines) if 'MFU %' in line)
    header = lines[start].split()
    cells = next(line for line in lines[start:]
                 if line.startswith('adaptformer@bf16')).split()
    # row, step GFLOP, model GFLOP, x full, matmul TFLOP/s, % of matmul,
    # HFU %, MFU %
    assert cells == [
        'adaptformer@bf16', '300.0', '200.0', f'{0.2 / 0.35:.3f}', '10', '6.0',
        '60.0', '40.0'
    ], (header, cells)
    speed = next(
        line for line in lines if line.startswith('adaptformer@bf16')).split()
    assert speed[1:3] == ['500.0', '0.50']


@pytest.mark.parametrize('status, code', [('passed', 0), ('skipped', 0),
                                          ('failed', 1), ('error', 1),
                                          ('timeout', 1), ('not_run', 1)])
def test_gpu_check_exit_code_follows_each_checks_status(
        monkeypatch, capsys, status, code):
    """Guards against a failed (or errored, timed-out, not run) check
    that ends the GPU check with exit code 0, and against a failed
    check's expectation left out of the printed summary."""
    failures = ['bfloat16 loss rel. diff vs fp32: 0.5 not <= 0.03'] \
        if status == 'failed' else []
    result = dict(
        status='complete',
        device='cuda',
        gpu='test GPU',
        torch=torch.__version__,
        date='today',
        checks=dict(
            amp_step_video=dict(status='passed', seconds=1.),
            fused_attention=dict(status=status, seconds=1.,
                                 failures=failures)))
    monkeypatch.setattr(gpu_check_tool, 'run_gpu_check', lambda argv: result)
    assert gpu_check_tool.main([]) == code
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines()
                if line.startswith('fused_attention'))
    assert line.split()[1] == status
    for failure in failures:
        assert f'FAILED {failure}' in out
    # Without a GPU: 0, whatever the (empty) checks.
    result.update(status='no_gpu', checks={})
    assert gpu_check_tool.main([]) == 0


def test_one_unmet_expectation_fails_the_check():
    """Guards against a check passed when only some of its expectations
    were met, or a failure missing from its JSON: each unmet one is
    listed."""
    from mmadaptformer.benchmark.gpu_check.verdict import Verdict
    verdict = Verdict()
    assert verdict.expect('float32 logits', 1e-5, '<=', 1e-3)
    assert not verdict.expect('bfloat16 gradient cosine', 0.5, '>=', 0.97)
    assert not verdict.expect('exit code', 1, '==', 0)
    assert not verdict.expect('loss', None, '<=', 1.)  # not measured
    assert not verdict.passed
    result = verdict.to_dict()
    assert result['status'] == 'failed'
    assert result['failures'] == [
        'bfloat16 gradient cosine: 0.5 not >= 0.97', 'exit code: 1 not == 0',
        'loss: None not <= 1.0'
    ]
    assert [e['ok'] for e in result['expectations']] == \
        [True, False, False, False]


def test_rounds_give_the_median_and_range():
    """Guards against the mean over rounds in place of the median (one
    slow round, e.g. a busy neighbour, would move it): rows and ratios to
    full FT are median [min-max] over the rounds."""
    peaks = dict(bf16=1.)
    rounds = [{
        'adaptformer@bf16':
        _fake_row('adaptformer', 'bf16', step, 0.3e12, 0.2e12, peaks),
        'full_ft@bf16':
        _fake_row('full_ft', 'bf16', 1., 0.4e12, 0.35e12, peaks),
    } for step in (1., 2., 9.)]
    rows, ratios, _ = tool.summarize(rounds)
    assert rows['adaptformer@bf16']['step_s'] == dict(
        median=2., min=1., max=9.)
    assert rows['adaptformer@bf16']['mfu']['median'] == pytest.approx(0.1)
    assert ratios['adaptformer@bf16']['step_s'] == dict(
        median=2., min=1., max=9.)


def test_inference_peak_rss_is_reset_before_the_call():
    """Guards against ``peak_rss_above`` keeping the process's earlier
    peak (VmHWM not cleared): memory touched and freed before the call is
    not part of the call's peak; what the call touches is."""
    from mmadaptformer.apis.benchmark import peak_rss_above
    big = torch.ones(256 * MB // 4)
    del big
    assert peak_rss_above(lambda: torch.ones(8 * MB // 4)) < 64 * MB
    assert peak_rss_above(lambda: torch.ones(128 * MB // 4)) > 96 * MB


def test_fused_attention_limits_are_those_of_each_dtype(tmp_path):
    """Guards against one dtype's tolerances used for another (float16's
    tighter ones for bfloat16 would fail a correct bfloat16 kernel): the
    fused-vs-eager check records bfloat16's own limits."""
    from mmadaptformer.benchmark.gpu_check import (build_context,
                                                   check_fused_attention,
                                                   parse_gpu_check_args,
                                                   prepare_workspace)
    from mmadaptformer.benchmark.gpu_check.numerics import AMP_TOLERANCES
    workspace = prepare_workspace(str(tmp_path / 'workspace'))
    args = parse_gpu_check_args(
        ['--out-dir', str(tmp_path), '--device', 'cpu'])
    result = check_fused_attention(build_context(args, 'cpu', workspace))
    limits = {e['name']: e['limit'] for e in result['expectations']}
    bf16 = AMP_TOLERANCES['bfloat16']
    assert bf16 != AMP_TOLERANCES['float16']
    assert limits['bfloat16 logits, fused vs eager (rel. to max)'] == \
        bf16['logits']
    assert limits['bfloat16 fused logits vs float32 eager'] == bf16['logits']
    assert limits['bfloat16 gradient cosine, fused vs eager'] == \
        bf16['cosine']


def test_gpu_check_speed_rows_take_each_ratio_from_its_field(tmp_path):
    """Guards against a speed row's ratio to full FT read from another
    field of the benchmark's JSON (peak from transient memory, model
    FLOPs from executed FLOPs): each is the row's value over full FT's,
    in one round."""
    from mmadaptformer.benchmark.gpu_check import (build_context,
                                                   check_benchmark,
                                                   parse_gpu_check_args,
                                                   prepare_workspace)
    workspace = prepare_workspace(str(tmp_path / 'workspace'))
    args = parse_gpu_check_args(
        ['--out-dir', str(tmp_path), '--device', 'cpu'])
    ctx = build_context(args, 'cpu', workspace)
    (tmp_path / 'logs').mkdir()
    ctx = dict(
        ctx,
        speed=dict(
            ctx['speed'],
            modes=['adaptformer', 'full_ft'],
            amp=['none'],
            iters=1))
    bench = check_benchmark(ctx)
    assert bench['status'] == 'passed', bench.get('failures')
    rows = bench['details']['rows']
    ours, full = rows['adaptformer'], rows['full_ft']
    for ratio, field in (('step_ratio_to_full_ft', 'step_ms'),
                         ('model_flop_ratio_to_full_ft', 'model_flops'),
                         ('transient_ratio_to_full_ft', 'transient_mem_mb'),
                         ('peak_ratio_to_full_ft', 'abs_peak_mem_mb')):
        assert ours[ratio] == pytest.approx(ours[field] / full[field]), ratio
        assert full[ratio] == 1, ratio
    # In float32 AdaptFormer's fused attention backward recomputes q k^T
    # (full FT's eager one does not), so the two FLOP ratios differ.
    assert ours['step_flops'] > ours['model_flops']
