# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What benchmark_infer's tables call its ratios and how they round its
memory peaks, on the numbers of a real tiny run (the journey's: stock
1.64 ms against AdaptFormer 2.27 ms of CPU time, activation peaks of
0.6 MB)."""
from mmadaptformer.apis.benchmark_table import format_table

STOCK_S, ADAPTFORMER_S = 1.64e-3, 2.27e-3


def _result():
    """A result of ``benchmark_inference`` as ``format_table`` reads it:
    its ratios computed as it computes them."""
    seconds = dict(wall_s=1e-3, cpu_s=1e-3)
    return dict(
        threads=1,
        batch_size=2,
        repeat=3,
        warmup=1,
        vs_stock=dict(
            adaptformer_per_s=2 / ADAPTFORMER_S,
            stock_per_s=2 / STOCK_S,
            ratio=STOCK_S / ADAPTFORMER_S),
        mixed=[
            dict(
                tasks=2,
                mixed_per_s=4.,
                one_after_another_per_s=2.,
                single_task_same_rows_per_s=4.,
                mixed_vs_one_after_another=2.,
                mixed_vs_single_task_same_rows=1.,
                peak_mb=dict(
                    mixed=0.6,
                    one_after_another=0.4,
                    single_task_same_rows=1.5),
                weights_mb=dict(mixed=0.1, one_after_another=0.2))
        ],
        memory=dict(first_task_mb=1., per_added_task_mb=[], whole_model_mb=2.),
        shared_prefix=dict(
            tasks=2,
            blocks=[1],
            num_blocks=2,
            shared_per_s=3.,
            fan_out_at_block_0_per_s=1.,
            speedup=3.,
            seconds=dict(shared=seconds, fan_out_at_block_0=seconds)))


def test_a_slower_adaptformer_reads_as_slower():
    """0.72 under 'AdaptFormer / stock (CPU time)' read as AdaptFormer
    taking 0.72 of the stock time, the opposite of what was measured."""
    table = format_table(_result(), 'a CPU')
    assert '| model | inputs/s (wall) | speed vs stock (x, CPU time) |' \
        in table
    assert '| AdaptFormer (fast path) | 881.06 | 0.72 |' in table
    assert 'speed ratios (x, above 1: faster) in process CPU time' in table
    assert 'AdaptFormer / stock' not in table
    assert '| mixed speed vs one after another (x, CPU time) | mixed speed ' \
        'vs one task same rows (x, CPU time) |' in table
    assert '3.00x as fast (CPU time)' in table


def test_peaks_keep_the_jsons_precision():
    """The JSON's 0.6 MB was printed as 1."""
    table = format_table(_result(), 'a CPU')
    assert '| 2 | 4.00 | 2.00 | 4.00 | 2.00 | 1.00 | 0.6 / 0.4 / 1.5 | ' \
        '0.1 / 0.2 |' in table
