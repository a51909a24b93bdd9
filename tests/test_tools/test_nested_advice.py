# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/test.py`` given a checkpoint whose weights are nested under one
key gives the one piece of advice that applies, and following it works.

Before, the refusal of such a file ended with the general advice to list
the keys in ``CheckpointCheckHook.allow_missing`` / ``allow_unexpected``,
which cannot make a file of which nothing loads load; and for a file whose
tensors carry the model's own names (an EMA copy, weights saved under
``{'state_dict': {'model': ...}}``) it advised
``convert_official.py SRC DST``, which converts them as mmaction2's
model-zoo layout: the head dropped and the ``pos_embed`` rebuilt for
224 px and 8 frames, which fits neither the tiny config nor the
evaluation of the model. Real runs of the tools on the tiny video
recognizer (random weights)."""
import re

import pytest
import torch
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool

#: The general advice on keys, which does not apply to a nested file.
KEY_ADVICE = ('allow_missing', 'allow_unexpected', '--pretrained')


@pytest.fixture(scope='module')
def stock(tmp_path_factory, tiny_video_data):
    """The tiny video config on the tiny data and its state dict."""
    root = tmp_path_factory.mktemp('nested_advice')
    config = write_config(root / 'tiny.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    state = save_stock_video_checkpoint(str(root / 'full.pth'))
    return dict(config=config, state=state)


def _refused(config: str, checkpoint, tmp_path) -> str:
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'w'],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout, proc.stdout[-3000:]
    return proc.stdout


@pytest.mark.parametrize('nesting,key', [('state_dict.model', 'model'),
                                         ('model_ema', 'model_ema')])
def test_own_names_are_taken_out_and_then_test(stock, tmp_path, nesting, key):
    src = tmp_path / 'nested.pth'
    if nesting == 'model_ema':
        torch.save({'model_ema': stock['state']}, str(src))
    else:
        torch.save({'state_dict': {'model': stock['state']}}, str(src))
    out = _refused(stock['config'], src, tmp_path)
    assert f'{src} does not fit the model: its weights are nested under ' \
        f'{key!r}' in out, out[-3000:]
    for advice in KEY_ADVICE:
        assert advice not in out, out[-3000:]
    command = re.search(
        r"the model's own names, so take them out as they are, converting "
        r'nothing: tools/model_converters/convert_official\.py SRC DST '
        r'([^.]*)\. Nothing of it was loaded\.', out)
    assert command is not None, out[-3000:]
    flags = command.group(1).split()
    assert flags == ['--key', key, '--unwrap-only']

    dst = tmp_path / 'unwrapped.pth'
    run_tool(['model_converters/convert_official.py', src, dst, *flags],
             cwd=tmp_path)
    unwrapped = torch.load(str(dst), map_location='cpu')['state_dict']
    assert list(unwrapped) == list(stock['state'])
    assert all(torch.equal(unwrapped[k], v) for k, v in stock['state'].items())
    done = run_tool(
        ['test.py', stock['config'], dst, '--work-dir', tmp_path / 'w2'],
        cwd=tmp_path)
    assert re.search(r'Epoch\(test\) \[\d+/\d+\] +acc/top1', done.stdout), \
        done.stdout[-3000:]


def test_other_names_keep_the_convert_advice_alone(stock, tmp_path):
    """Names of other training code (the official VideoMAE layout) keep
    the advice to convert; the advice on keys is left out there too."""
    src = tmp_path / 'official.pth'
    torch.save(
        {
            'model': {
                'patch_embed.proj.weight': torch.zeros(64, 3, 2, 16, 16),
                'blocks.0.attn.qkv.weight': torch.zeros(192, 64),
                'head.weight': torch.zeros(2, 64)
            }
        }, str(src))
    out = _refused(stock['config'], src, tmp_path)
    assert "(it reads 'state_dict' or the top level): convert it first " \
        'with tools/model_converters/convert_official.py SRC DST. Nothing ' \
        'of it was loaded.' in out, out[-3000:]
    assert '--unwrap-only' not in out
    for advice in KEY_ADVICE:
        assert advice not in out, out[-3000:]


def test_pretrained_takes_own_names_out_and_then_trains(stock, tmp_path):
    """``--pretrained`` advised ``convert_official.py ... --type videomae``
    for such a file, which the converter refuses (its keys say
    ``mmaction2``), and whose ``--type mmaction2`` output does not fit
    the tiny backbone (``pos_embed`` for 224 px and 8 frames)."""
    src = tmp_path / 'ema.pth'
    torch.save({'model_ema': stock['state']}, str(src))
    line = refused_line(
        run_tool([
            'train.py', stock['config'], '--pretrained', src, '--work-dir',
            tmp_path / 'w'
        ],
                 cwd=tmp_path,
                 check=False))
    command = ('python tools/model_converters/convert_official.py '
               f'{src} CONVERTED.pth --key model_ema --unwrap-only')
    assert line.startswith('PretrainedFileError: '), line
    assert line.endswith(
        "Its weights already carry the toolboxes' own names "
        "('backbone.patch_embed.projection.weight'): take them out as they "
        f'are, converting nothing: {command}, and give CONVERTED.pth as '
        '--pretrained.'), line
    assert '--type' not in line, line
    run_tool(['model_converters/convert_official.py', *command.split()[2:]],
             cwd=tmp_path)
    done = run_tool([
        'train.py', stock['config'], '--pretrained',
        tmp_path / 'CONVERTED.pth', '--work-dir', tmp_path / 'w2',
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path)
    assert 'Epoch(train) [1]' in done.stdout, done.stdout[-3000:]


@pytest.mark.parametrize('options,named', [
    (['--num-frames', '16'], '--num-frames'),
    (['--type', 'mmaction2', '--img-size', '32'], '--type, --img-size'),
    (['--no-identity-bn', '--final-norm', 'keep'
      ], '--final-norm, --no-identity-bn'),
])
def test_unwrap_only_refuses_conversion_options(stock, tmp_path, options,
                                                named):
    """They were dropped without a word: a user who asked for 16 frames
    got the file's pos_embed as it was."""
    src = tmp_path / 'nested.pth'
    torch.save({'model_ema': stock['state']}, str(src))
    dst = tmp_path / 'unwrapped.pth'
    proc = run_tool([
        'model_converters/convert_official.py', src, dst, '--unwrap-only',
        *options
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert proc.stdout.splitlines()[-1].endswith(
        f'error: --unwrap-only converts nothing, so it takes no {named}: '
        f'leave {"them" if "," in named else "it"} out, or leave out '
        '--unwrap-only to convert.'), proc.stdout[-3000:]
    assert not dst.exists()
