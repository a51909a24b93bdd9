# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``extract_adapters.py`` given a file with neither the adapters nor the
head of the config's model (a backbone alone).

It named only the missing head, as if the adapters were there to extract.
It now names both: the head keys and the adapter tensors, as the
evaluation's refusal of a backbone-only file does."""
from headless_checkpoints import adaptformer_video_without
from refusal_lines import refused_line
from tool_runners import run_tool


def test_extract_adapters_names_the_missing_adapters_and_head(
        tmp_path, tiny_video_data):
    config, backbone = adaptformer_video_without(tmp_path, tiny_video_data,
                                                 'backbone.pth', ['cls_head.'],
                                                 ['.adaptmlp.'])
    out = tmp_path / 'out.pth'
    proc = run_tool(
        ['model_converters/extract_adapters.py', config, backbone, out],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Wrote'])
    assert line.startswith(
        f'StateDictMismatchError: {backbone} (config {config}) holds none '
        "of the model's head (cls_head.*) tensors: 4 missing "
        '(cls_head.fc_cls.weight, cls_head.fc_cls.bias, '
        'cls_head.bn.running_mean, cls_head.bn.running_var)'), line
    assert "holds none of the model's 8 adapter tensors (e.g. " \
        'backbone.blocks.0.adaptmlp.' in line, line
    assert 'the adapters and the head are missing' in line, line
    assert 'It is a backbone checkpoint' in line, line
    assert 'give the file to tools/train.py as --pretrained' in line, line
    assert not out.exists()
