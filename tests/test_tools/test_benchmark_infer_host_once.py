# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``benchmark_infer.py`` without ``--prefix-layers`` counts the host's
adaptable blocks once.

Counting them builds the host (random weights; the ViT-B of
``configs/adaptformer_vitb_ssv2.py``: about 0.4 s of process CPU on one
thread). The tool resolved the default blocks itself, then
``benchmark_inference`` counted them again for the table's block numbers;
now the tool leaves the default to ``benchmark_inference``, which says in
the tool's words how it chose."""
from block_counts import counted_block_counts
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool


def test_the_default_path_builds_the_host_once(tmp_path, capsys, monkeypatch,
                                               clean_loggers):
    counted = counted_block_counts(monkeypatch)
    result = load_tool('analysis_tools/benchmark_infer.py').main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--prefix-tasks', '2',
        '--repeat', '1', '--warmup', '0', '--work-dir',
        str(tmp_path)
    ])
    assert counted == [2]
    prefix = result['shared_prefix']
    assert (prefix['layers'], prefix['blocks'],
            prefix['num_blocks']) == ([-1], [1], 2)
    source = ("default, the last 1 of the model's 2 adaptable blocks "
              '(min(3, N - 1), so that at least one block is shared; '
              '--prefix-layers not given)')
    assert prefix['layers_source'] == source
    assert f'Shared-prefix blocks: {source}.' in capsys.readouterr().out
