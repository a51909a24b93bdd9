# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/analysis_tools/get_flops.py."""
import json
import os

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     load_tool, run_tool, write_config)
from mmengine.config import Config

# The tiny video ViT: 4 frames of 32x32, tubelet 2, patch 16 -> 8 tokens;
# 2 blocks of width 64; AdaptMLP bottleneck 8.
TOKENS, WIDTH, BOTTLENECK, BLOCKS = 8, 64, 8, 2

tool = load_tool('analysis_tools/get_flops.py')


def test_adapters_add_exactly_their_matmuls_and_attention_is_counted():
    stock = tool.model_stats(Config.fromfile(TINY_VIDEO_CONFIG))
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    assert cfg.model.backbone.get('fused_attention', True)
    fused = tool.model_stats(cfg)
    cfg.model.backbone.fused_attention = False
    plain = tool.model_stats(cfg)
    assert stock['shape'] == fused['shape'] == (3, 4, 32, 32)
    # The fused attention is counted like the plain matmuls.
    assert fused['flops'] == plain['flops']
    # down_proj and up_proj: 2 FLOPs per multiply-add.
    adapters = BLOCKS * 2 * TOKENS * (WIDTH * BOTTLENECK + BOTTLENECK * WIDTH)
    assert fused['flops'] - stock['flops'] == adapters
    assert fused['trainable'] < stock['trainable'] == stock['total']


def test_vpt_prompts_add_their_tokens(tmp_path):
    stock = tool.model_stats(Config.fromfile(TINY_VIDEO_CONFIG))
    cfg = write_config(
        tmp_path / 'vpt.py', TINY_VIDEO_CONFIG, """
model = dict(
    backbone=dict(
        _delete_=True,
        type='VPT',
        backbone={{_base_.model.backbone}},
        num_prompts=2,
        deep=True))
custom_hooks = [
    dict(type='AdapterHook', mode='linear_probe',
         extra_trainable=[r'prompt_embeddings'])
]
""")
    vpt = tool.model_stats(Config.fromfile(cfg))
    assert vpt['trainable'] == 2 * BLOCKS * WIDTH + 2 * WIDTH + 2
    assert vpt['flops'] > stock['flops']


def test_get_flops_cli(tmp_path):
    out = tmp_path / 'flops.json'
    proc = run_tool([
        'analysis_tools/get_flops.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        '--shape', '3', '4', '64', '64', '--json', out
    ],
                    cwd=tmp_path)
    stats = json.loads(out.read_text())
    assert stats['shape'] == [3, 4, 64, 64]
    assert stats['flops'] > 0
    # A unit that fits: the tiny model is a few MFLOPs, not "0.0 G".
    line = next(text for text in proc.stdout.splitlines()
                if text.startswith('FLOPs'))
    assert line == (f'FLOPs (one view): '
                    f'{tool.format_count(stats["flops"], "FLOPs")} '
                    f'({tool.format_count(stats["flops"] / 2, "MACs")})')
    assert 'MFLOPs' in line and 'MMACs' in line


def test_format_count_picks_the_unit():
    assert tool.format_count(159.5e9, 'FLOPs') == '159.50 GFLOPs'
    assert tool.format_count(5_402_624, 'FLOPs') == '5.40 MFLOPs'
    assert tool.format_count(2.5e3, 'MACs') == '2.50 KMACs'
    assert tool.format_count(12, 'FLOPs') == '12 FLOPs'
    assert tool.format_count(1.2e13, 'FLOPs') == '12.00 TFLOPs'


def test_default_shape_is_what_the_test_dataloader_feeds(tmp_path, capsys):
    """The tiny image config's test pipeline (in test_dataloader, as
    mmpretrain writes it) feeds 32x32 images: not 224x224, 61 times the
    FLOPs. A crop_size pair is (w, h); without a crop the backbone's
    img_size is taken."""
    from helpers import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, write_config
    from mmengine.config import Config
    assert tool.default_shape(Config.fromfile(TINY_IMAGE_CONFIG)) == (3, 32,
                                                                      32)
    video = Config.fromfile(TINY_VIDEO_CONFIG)
    frames = next(t for t in video.test_dataloader.dataset.pipeline
                  if t['type'] == 'SampleFrames')['clip_len']
    assert tool.default_shape(video) == (3, frames, 32, 32)
    pair = write_config(
        tmp_path / 'pair.py', TINY_IMAGE_CONFIG,
        'test_dataloader = dict(dataset=dict(pipeline=[dict(type='
        "'LoadImageFromFile'), dict(type='CenterCrop', crop_size=(48, 16)),"
        " dict(type='PackInputs')]))\n")
    assert tool.default_shape(Config.fromfile(pair)) == (3, 16, 48)
    no_crop = write_config(
        tmp_path / 'no_crop.py', TINY_IMAGE_CONFIG,
        'test_dataloader = dict(dataset=dict(pipeline=[dict(type='
        "'LoadImageFromFile'), dict(type='PackInputs')]))\n")
    assert tool.default_shape(Config.fromfile(no_crop)) == (3, 32, 32)
    # A config that describes only training: no test pipeline (it was a
    # KeyError traceback). An image takes the backbone's img_size; a video
    # needs its frames from --shape.
    no_test = ('test_dataloader = dict(_delete_=True, batch_size=1)\n'
               'test_pipeline = None\n')
    image = write_config(tmp_path / 'image.py', TINY_IMAGE_CONFIG, no_test)
    assert tool.default_shape(Config.fromfile(image)) == (3, 32, 32)
    video = write_config(tmp_path / 'video.py', TINY_VIDEO_CONFIG, no_test)
    with pytest.raises(SystemExit) as exit:
        tool.main([video])
    assert exit.value.code == 2
    assert f'get_flops.py: error: config {video}: no SampleFrames in a test '\
        'pipeline gives the frames; give --shape' in capsys.readouterr().err


def test_bad_shapes_and_json_are_refused(tmp_path, capsys):
    from helpers import TINY_IMAGE_CONFIG
    with pytest.raises(SystemExit) as exit:
        tool.parse_args([TINY_IMAGE_CONFIG, '--shape', '3', '0', '32'])
    assert exit.value.code == 2
    # In the benchmark tools' words, not argparse's ('argument --shape:').
    assert 'get_flops.py: error: --shape must be >= 1, got 0\n' in \
        capsys.readouterr().err
    with pytest.raises(SystemExit) as exit:
        tool.parse_args([TINY_IMAGE_CONFIG, '--json', str(tmp_path)])
    assert 'is a folder' in capsys.readouterr().err


def test_files_that_cannot_be_read_are_parser_errors(tmp_path, capsys):
    """A missing config, a file that is not a config and a config without
    a model ended with MMEngine's traceback (exit status 1)."""
    from helpers import TINY_IMAGE_CONFIG
    no_model = tmp_path / 'no_model.py'
    no_model.write_text('x = 1\n')
    readme = tmp_path / 'README.md'
    readme.write_text('# notes\n')
    for argv, message in (
        ([str(tmp_path / 'nope.py')], f'config {tmp_path}/nope.py: no such '
         'file'),
        ([str(readme)], f'config {readme}: not a config file (expected one '
         'of .py, .json, .yml, .yaml)'),
        ([str(no_model)], f'config {no_model}: it has no model dict'),
            # A video's 4 numbers for an image config: exit status 2 too.
        ([TINY_IMAGE_CONFIG, '--shape', '3', '4', '32',
          '32'], '--shape 3 4 32 32: an image config takes 3 numbers')):
        with pytest.raises(SystemExit) as exit:
            tool.main(argv)
        assert exit.value.code == 2
        err = capsys.readouterr().err
        assert f'get_flops.py: error: {message}' in err, err


def test_json_goes_to_a_new_folder_whole(tmp_path, capsys):
    """--json in a folder that was not there was a FileNotFoundError
    traceback after the counting; now the folder is made and the file
    written in one piece (no temporary file left beside it)."""
    from helpers import TINY_IMAGE_CONFIG
    out = tmp_path / 'new' / 'flops.json'
    stats = tool.main([TINY_IMAGE_CONFIG, '--json', str(out)])
    written = json.loads(out.read_text())
    assert written['flops'] == stats['flops'] > 0
    assert written['shape'] == [3, 32, 32]
    assert [p.name for p in out.parent.iterdir()] == ['flops.json']


def test_a_closed_pipe_ends_quietly(tmp_path):
    """``get_flops.py CONFIG | head -1``: the reader is gone before the
    results are flushed. It ended with Python's "Exception ignored ...
    BrokenPipeError" and status 120; now with 141 (128 + SIGPIPE) and
    nothing on stderr but the libraries' import warnings."""
    import subprocess
    import sys

    from helpers import REPO_ROOT, TINY_IMAGE_CONFIG
    read, write = os.pipe()
    os.close(read)  # the reader has gone
    proc = subprocess.run([
        sys.executable, 'tools/analysis_tools/get_flops.py', TINY_IMAGE_CONFIG
    ],
                          cwd=REPO_ROOT,
                          env=dict(
                              os.environ,
                              PYTHONPATH=REPO_ROOT,
                              PYTHONWARNINGS='ignore'),
                          stdout=write,
                          stderr=subprocess.PIPE,
                          text=True,
                          timeout=120)
    os.close(write)
    assert proc.returncode == 141, proc.stderr
    assert 'BrokenPipeError' not in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_cfg_options_change_the_counted_model(tmp_path, capsys):
    """get_flops.py was the one tool without --cfg-options (argparse's
    "unrecognized arguments"): a bigger adapter bottleneck given there adds
    exactly its parameters and matmuls."""
    base = tool.main([TINY_ADAPTFORMER_VIDEO_CONFIG])
    out = tmp_path / 'flops.json'
    wider = tool.main([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--json',
        str(out), '--cfg-options', 'model.backbone.adapter.bottleneck=16'
    ])
    assert json.loads(out.read_text())['flops'] == wider['flops']
    # down_proj and up_proj, 8 more hidden units in each of the 2 blocks.
    more = 2 * BLOCKS * TOKENS * (WIDTH * BOTTLENECK + BOTTLENECK * WIDTH)
    assert wider['flops'] - base['flops'] == more
    params = BLOCKS * (WIDTH * BOTTLENECK + BOTTLENECK + BOTTLENECK * WIDTH)
    assert wider['trainable'] - base['trainable'] == params
    assert wider['total'] - base['total'] == params


def test_an_option_that_is_no_key_value_is_one_usage_line(capsys):
    with pytest.raises(SystemExit) as exit:
        tool.main([
            TINY_ADAPTFORMER_VIDEO_CONFIG, '--cfg-options',
            'model.backbone.adapter.bottleneck'
        ])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('usage: get_flops.py'), err
    assert err.splitlines()[-1].startswith(
        'get_flops.py: error: --cfg-options: '
        "'model.backbone.adapter.bottleneck' is no KEY=VALUE"), err
    assert 'Traceback' not in err


@pytest.mark.parametrize(
    'option, line',
    [('model.backbone.adapter.init=zeros',
      "--cfg-options model.backbone.adapter.init='zeros': "
      "model.backbone.adapter.init must be one of ('lora', 'trunc_normal'), "
      "but got 'zeros'."),
     ('model.backbone.backbone.type=Nope',
      "--cfg-options model.backbone.backbone.type='Nope' is not in the "
      'mmaction::model registry. Check the spelling, or import the module '
      'that registers it (custom_imports).'),
     ('model.backbone=x', "--cfg-options model.backbone='x': model.backbone "
      'must be a dict (a backbone config) with a type, e.g. '
      "dict(type='VisionTransformer', ...), but got 'x'.")])
def test_a_config_mistake_is_one_refusal_line(option, line, capsys):
    """A mistake of the config (from --cfg-options here) ends with the line
    train.py and test.py give, exit status 1; it was a usage error (exit
    status 2, ``config FILE: ...``) and the wrapper's refusal did not name
    the option."""
    with pytest.raises(SystemExit) as exit:
        tool.main([TINY_ADAPTFORMER_VIDEO_CONFIG, '--cfg-options', option])
    # SystemExit with a message: Python prints it and exits with status 1.
    assert exit.value.code == f'ConfigError: {line}'
    assert 'usage:' not in capsys.readouterr().err


@pytest.mark.parametrize('shape, said', [
    (['3', '4', '8', '8'], 'input size 8x8 (from --shape) is smaller than '
     'the patch size 16 (model.backbone.backbone.patch_size of the config): '
     'give a --shape whose H and W are at least the patch size'),
    (['3', '1', '32', '32'], 'clips of 1 frame(s) (from --shape) are fewer '
     'than the tubelet size 2 (model.backbone.backbone.tubelet_size of the '
     'config): give a --shape whose T is at least the tubelet size'),
])
def test_a_shape_the_backbone_cannot_take_is_one_usage_line(
        shape, said, capsys):
    """It ended with PyTorch's ``RuntimeError: ... Kernel size can't be
    greater than actual input size`` traceback, exit status 1, where
    ``benchmark_train.py`` refuses the same input on one line."""
    with pytest.raises(SystemExit) as exit:
        tool.main([TINY_ADAPTFORMER_VIDEO_CONFIG, '--shape'] + shape)
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f'get_flops.py: error: {TINY_ADAPTFORMER_VIDEO_CONFIG}: {said}')


def test_stdout_holds_the_counts_alone(tmp_path):
    """MMEngine's build messages (``Add AdaptMLP to blocks.0 ...``, one per
    adapted block, and the attention line) came on stdout before the
    counts, in ``get_flops.py CONFIG > flops.txt`` and in a pipe; they go
    to stderr, as in the other analysis tools."""
    proc = run_tool(
        ['analysis_tools/get_flops.py', TINY_ADAPTFORMER_VIDEO_CONFIG],
        cwd=tmp_path,
        separate_stderr=True)
    lines = proc.stdout.splitlines()
    assert [line.split(':')[0] for line in lines] == [
        'config', 'input shape (one view)', 'parameters', 'FLOPs (one view)'
    ], proc.stdout
    assert 'Add AdaptMLP to blocks.0' in proc.stderr
