# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``extract_adapters.py`` given the full checkpoint of a model without the
config's adapters (the stock tiny recognizer: its own head, no adapters).

It said the file "is damaged, or was saved from a smaller architecture
(e.g. fewer blocks)". It now says that the file holds none of the adapters,
so there is nothing to extract, and what the file is for."""
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool


def test_extract_adapters_names_a_checkpoint_without_adapters(
        tmp_path, tiny_video_data):
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    config = write_config(
        tmp_path / 'adaptformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + pretrained_cfg(stock))
    out = tmp_path / 'out.pth'
    proc = run_tool(
        ['model_converters/extract_adapters.py', config, stock, out],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Wrote'])
    assert line.startswith(
        f'StateDictMismatchError: {stock} (config {config}) holds none of '
        "the model's 8 adapter tensors (e.g. backbone.blocks.0.adaptmlp."
        'down_proj.weight): there are no trained adapters to extract. It is '
        'a checkpoint of a model without these adapters (a stock or fully '
        'fine-tuned model'), line
    assert 'give it to tools/train.py as --pretrained' in line, line
    assert 'damaged' not in line, line
    assert not out.exists()
