# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Count how often the benchmarks count a host's adaptable blocks (each
count builds the host)."""
from typing import List

import mmadaptformer.apis.benchmark as benchmark
import mmadaptformer.apis.prefix_layers as prefix_layers


def counted_block_counts(monkeypatch) -> List[int]:
    """The list every later ``adaptable_block_count`` call appends its
    real answer to, through both modules that call it."""
    counted = []
    real = prefix_layers.adaptable_block_count

    def counting(cfg):
        counted.append(real(cfg))  # the real count, recorded
        return counted[-1]

    monkeypatch.setattr(benchmark, 'adaptable_block_count', counting)
    monkeypatch.setattr(prefix_layers, 'adaptable_block_count', counting)
    return counted
