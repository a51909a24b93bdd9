# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``extract_adapters.py`` given a file with neither the adapters nor the
head (a backbone alone).

Its refusal ended "to train a head on this backbone, give the file to
tools/train.py as --pretrained", though the adapters are missing too: the
advice now names both, as does the refusal's account of the file."""
from headless_checkpoints import adaptformer_video_without
from refusal_lines import refused_line
from tool_runners import run_tool


def test_a_backbone_alone_is_advised_to_train_adapters_and_head(
        tmp_path, tiny_video_data):
    config, backbone = adaptformer_video_without(tmp_path, tiny_video_data,
                                                 'backbone.pth', ['cls_head.'],
                                                 ['.adaptmlp.'])
    out = tmp_path / 'out.pth'
    proc = run_tool(
        ['model_converters/extract_adapters.py', config, backbone, out],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Wrote '])
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
