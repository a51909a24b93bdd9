# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``benchmark_inference`` counts the host's adaptable blocks once.

Counting them builds the host (random weights). The default
``prefix_layers`` counted them, then the table's block numbers counted them
again, building the host a second time for the same number."""
from mmengine.config import Config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

import mmadaptformer.apis.benchmark as benchmark
import mmadaptformer.apis.prefix_layers as prefix_layers


def test_the_host_is_built_once_for_its_block_count(tmp_path, monkeypatch):
    counted = []
    real = prefix_layers.adaptable_block_count

    def counting(cfg):
        counted.append(real(cfg))  # the real count, recorded
        return counted[-1]

    monkeypatch.setattr(benchmark, 'adaptable_block_count', counting)
    monkeypatch.setattr(prefix_layers, 'adaptable_block_count', counting)
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
