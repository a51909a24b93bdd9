# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How mmadaptformer/apis/benchmark_table.py's table names the adapted blocks
of the shared-prefix row."""
from mmadaptformer.apis.benchmark_table import blocks_text, format_table


def _result(layers, blocks, num_blocks):
    """A result of ``benchmark_inference`` as ``format_table`` reads it."""
    seconds = dict(wall_s=1., cpu_s=1.)
    return dict(
        threads=1,
        batch_size=2,
        repeat=1,
        warmup=0,
        vs_stock=dict(adaptformer_per_s=2., stock_per_s=2., ratio=1.),
        mixed=[],
        memory=dict(first_task_mb=1., per_added_task_mb=[], whole_model_mb=2.),
        shared_prefix=dict(
            tasks=4,
            layers=layers,
            blocks=blocks,
            num_blocks=num_blocks,
            shared_per_s=3.,
            fan_out_at_block_0_per_s=1.,
            speedup=3.,
            seconds=dict(shared=seconds, fan_out_at_block_0=seconds)))


def test_the_table_names_the_blocks_a_reader_counts():
    """The default layers are negative indices; the table printed them
    ('adapters in blocks [-3, -2, -1]'), which no block is numbered."""
    table = format_table(_result([-3, -2, -1], [9, 10, 11], 12), 'a CPU')
    assert ('Shared prefix: 4 tasks with adapters in blocks 9-11 of the '
            "model's 12 adaptable blocks (0-11): 3.00 answers/s") in table
    assert '[-3, -2, -1]' not in table


def test_blocks_text_joins_runs_and_counts_one_block():
    assert blocks_text([1], 2) == \
        "block 1 of the model's 2 adaptable blocks (0-1)"
    assert blocks_text([11, 0, 9, 10, 3], 12) == \
        "blocks 0, 3, 9-11 of the model's 12 adaptable blocks (0-11)"
    assert blocks_text([0], 1) == "block 0, the model's only adaptable block"
