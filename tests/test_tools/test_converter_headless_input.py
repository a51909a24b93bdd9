# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``extract_adapters.py`` given a full AdaptFormer checkpoint without its
head (a backbone file, with or without adapters).

It said "it lacks some of the model's tensors: the file is damaged, or was
saved from a smaller architecture (e.g. fewer blocks)". It now names the
missing head keys, says the file is a backbone checkpoint and to give it
to tools/train.py as --pretrained, as tools/test.py says of it."""
import pytest
from headless_checkpoints import adaptformer_video_without
from refusal_lines import refused_line
from tool_runners import run_tool


@pytest.mark.parametrize('adapters', [True, False])
def test_extract_adapters_names_the_missing_head(adapters, tmp_path,
                                                 tiny_video_data):
    config, headless = adaptformer_video_without(
        tmp_path, tiny_video_data, 'headless.pth', ['cls_head.'],
        [] if adapters else ['.adaptmlp.'])
    out = tmp_path / 'out.pth'
    proc = run_tool(
        ['model_converters/extract_adapters.py', config, headless, out],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Wrote'])
    assert line.startswith(
        f'StateDictMismatchError: {headless} (config {config}) holds none '
        "of the model's head (cls_head.*) tensors: 4 missing "
        '(cls_head.fc_cls.weight, cls_head.fc_cls.bias, '
        'cls_head.bn.running_mean, cls_head.bn.running_var), so the file '
        'written would hold them at their initialisation'), line
    assert 'It is a backbone checkpoint' in line, line
    assert 'give the file to tools/train.py as --pretrained' in line, line
    assert 'damaged' not in line, line
    assert not out.exists()
