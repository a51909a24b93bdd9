# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``benchmark_inference`` counts the host's adaptable blocks once.

Counting them builds the host (random weights). The default
``prefix_layers`` counted them, then the table's block numbers counted them
again, building the host a second time for the same number."""
from block_counts import counted_block_counts
from mmengine.config import Config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

import mmadaptformer.apis.benchmark as benchmark


def test_the_host_is_built_once_for_its_block_count(tmp_path, monkeypatch):
    counted = counted_block_counts(monkeypatch)
    result = benchmark.benchmark_inference(
        Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG),
        str(tmp_path),
        num_tasks=(1, ),
        prefix_tasks=2,
        repeat=1,
        warmup=0,
        log=lambda _: None)
    assert counted == [2]
    prefix = result['shared_prefix']
    assert (prefix['layers'], prefix['blocks'],
            prefix['num_blocks']) == ([-1], [1], 2)
