# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What benchmark_train's tables call their ratios, on the numbers of a
real tiny CPU run (``configs/tiny/tiny_adaptformer_video.py``, one thread,
2026-12-07): AdaptFormer's step took 0.56x of full fine-tuning's time
(faster), and bfloat16 autocast made it slower (float32 7.2 ms against
bfloat16 12.3 ms).

Its columns read "x full" and "fp32/amp": "x full 0.56" did not say
whether AdaptFormer ran 0.56x as fast or took 0.56x the time, nor
"fp32/amp 0.59" whether autocast was faster or slower (as benchmark_infer's
"AdaptFormer / stock (CPU time) 0.72" read as a time ratio while it was
a speed ratio)."""
from mmadaptformer import benchmark as tool
from mmadaptformer.benchmark.report import RATIO_MEANING

#: Step seconds (wall-clock and process CPU time) per row of that run.
STEPS = {
    'adaptformer': (7.2e-3, 3.9e-3),
    'full_ft': (13.1e-3, 6.6e-3),
    'adaptformer@bf16': (12.3e-3, 6.1e-3),
    'full_ft@bf16': (28.0e-3, 11.1e-3),
}


def _run(row):
    """A worker's result as ``summarize`` reads it."""
    mode, _, amp = row.partition('@')
    step, cpu = STEPS[row]
    full = mode == 'full_ft'
    return dict(
        mode=mode,
        amp=amp or 'none',
        device='cpu',
        step_s=step,
        step_cpu_s=cpu,
        train_throughput=4 / step,
        infer_step_s=1e-3,
        infer_throughput=4e3,
        static_mem_mb=0.6,
        persistent_mem_mb=0.6 if full else 0.,
        base_mem_mb=800.,
        peak_above_base_mb=24.6 if full else 17.6,
        transient_mem_mb=23.9 if full else 17.6,
        abs_peak_mem_mb=826.5 if full else 819.6,
        trainable_params=165442 if full else 2450,
        step_flops=25.6e6 if full else 13.2e6,
        model_flops=25.6e6 if full else 13.2e6)


def _table():
    rows, ratios, speedups = tool.summarize([{r: _run(r) for r in STEPS}])
    return tool.format_table(rows, ratios, speedups, 'clips')


def test_a_step_ratio_says_it_is_one_of_times():
    table = _table()
    assert 'x full' not in table and 'fp32/amp' not in table
    speed = table.splitlines()[1]
    assert 'time vs full' in speed and 'cpu time vs full' in speed
    assert '"time vs full": the step\'s time over full_ft\'s, a time ratio ' \
        '(below 1: faster than full_ft)' in table
    row = next(line.split() for line in table.splitlines()
               if line.startswith('adaptformer '))
    # 7.2 ms against full_ft's 13.1 ms: 0.55 of its time, i.e. faster.
    assert row[1:5] == ['7.2', '0.55', '3.9', '0.59']


def test_a_slower_autocast_reads_as_slower():
    table = _table()
    assert 'amp speed-up' in table and 'amp speed-up cpu' in table
    assert '"amp speed-up": the same mode\'s float32 step time over its ' \
        'autocast step time, a speed ratio (above 1: autocast is faster, ' \
        'below 1: slower)' in table
    row = next(line.split() for line in table.splitlines()
               if line.startswith('adaptformer@bf16 '))
    # float32 7.2 ms, bfloat16 12.3 ms: 0.59x as fast.
    assert row[5:7] == ['0.59', '0.64']


def test_memory_and_flop_ratios_say_what_they_divide():
    table = _table()
    assert table.count('MB vs full') == 3  # two columns and the legend
    assert '"MB vs full": the MB of the column before over full_ft\'s ' \
        '(below 1: less memory)' in table
    assert '"GFLOP vs full": model FLOPs over full_ft\'s (below 1: fewer)' \
        in table


def test_the_json_says_what_its_ratios_divide():
    """``--out``'s keys keep their names (docs/benchmark/*.json and
    gpu_check read them); ``ratio_meaning`` says which way each reads."""
    assert 'time ratios (below 1: the row\'s step is faster than ' \
        'full_ft\'s)' in RATIO_MEANING['ratios_to_full_ft']
    assert 'float32 step time over its autocast step time' in \
        RATIO_MEANING['amp_speedups']
    assert 'a speed ratio (above 1: autocast is faster, below 1: slower)' \
        in RATIO_MEANING['amp_speedups']
