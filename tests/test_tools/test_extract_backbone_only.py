# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``extract_adapters.py`` given a file with neither the adapters nor the
head of the config's model (a backbone alone).

It named only the missing head, as if the adapters were there to extract.
It now names both: the head keys and the adapter tensors, as the
evaluation's refusal of a backbone-only file does; its advice ended "to
train a head on this backbone", and now names both too."""
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
    assert 'the adapters and the head are missing, there is nothing ' \
        'trained to extract. It is a backbone checkpoint (as ' \
        'convert_official.py writes one: the backbone alone) or a file ' \
        'saved without its adapters and head. ' in line, line
    assert 'to train the adapters and a head on this backbone, give the ' \
        'file to tools/train.py as --pretrained. Nothing of it was ' \
        'loaded.' in line, line
    assert 'to train a head on' not in line, line


def test_a_file_without_its_head_alone_is_advised_to_train_a_head(
        tmp_path, tiny_video_data):
    """A guard of kept behaviour: with its adapters, the head alone."""
    config, headless = adaptformer_video_without(tmp_path, tiny_video_data,
                                                 'headless.pth', ['cls_head.'])
    proc = run_tool([
        'model_converters/extract_adapters.py', config, headless,
        tmp_path / 'out.pth'
    ],
                    tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Wrote '])
    assert 'or a file saved without its head. ' in line, line
    assert 'to train a head on this backbone, give the file to ' \
        'tools/train.py as --pretrained.' in line, line
    assert 'nothing trained to extract' not in line, line
