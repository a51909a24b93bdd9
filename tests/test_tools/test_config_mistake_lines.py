# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Config mistakes in the model, the config file and the tools' own
options that end the tools with one line naming the key, the value and what
was expected, exit status 1, no traceback: adapter arguments and
``block_types``, a misspelled type, a config that is not Python, a converter
given a config without AdapterHook, an option that cannot be merged, a
recognizer ``test_cfg``/``train_cfg`` key it would ignore, ``--tta`` on a
video config without TTA fields and ``--auto-scale-lr`` on a config without
a base batch size.

The data's mistakes are in test_data_config_mistake_lines.py, the
Runner's (optimizer, scheduler, hooks, checkpoints) in
test_run_config_mistake_lines.py."""
import pytest
from helpers import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     run_tool, save_stock_video_checkpoint, video_data_cfg,
                     write_config)
from refusal_lines import refused_line, usage_line
from refused_runs import refused_run, unread_checkpoint


@pytest.mark.parametrize('option, line', [
    ('model.backbone.adapter.bottleneck=0',
     'ConfigError: model.backbone.adapter.bottleneck must be a positive int '
     '(or a list of one per adapted block), but got 0.'),
    ('model.backbone.adapter.scale=abc',
     'ConfigError: model.backbone.adapter.scale must be a number or '
     "'learnable', but got 'abc'."),
    ('model.backbone.adapter.dropout=1.5',
     'ConfigError: model.backbone.adapter.dropout must be a float in [0, 1), '
     'but got 1.5.'),
    ('model.backbone.layers=[5]',
     'ConfigError: model.backbone.layers=[5] contains 5, but the model has 2 '
     'adaptable blocks, so valid indices are 0..1 (or -2..-1).'),
    ('model.backbone.adapter.bottleneck=[8,8,8]',
     'ConfigError: model.backbone.adapter.bottleneck lists 3 values, but 2 '
     'blocks are adapted; give one per adapted block, in the order of '
     'layers, or one int for all. Got [8, 8, 8].'),
    ('model.backbone.adapter.bottleneck=[8,0]',
     'ConfigError: model.backbone.adapter.bottleneck must hold positive '
     "ints, but got 0 for block 'blocks.1' in [8, 0]."),
    ('model.backbone.block_types=Block',
     'ConfigError: model.backbone.block_types must be a list of dicts such '
     "as block_types=[dict(type='MyBlock', norm='norm2', ffn='mlp')], but "
     "got 'Block'."),
    ('model.backbone.block_types=[Block]',
     'ConfigError: model.backbone.block_types[0] must be a dict such as '
     "dict(type='MyBlock', norm='norm2', ffn='mlp'), but got 'Block'."),
])
def test_adapter_mistakes_end_train_with_one_line(tmp_path, tiny_video_data,
                                                  option, line):
    """The audit's command: the tiny AdaptFormer on a stock checkpoint
    (``--pretrained``), with one adapter argument wrong. A wrong
    ``block_types`` was a TypeError traceback (a string was iterated:
    "block_types[0] must be a dict ..., but got 'B'")."""
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--pretrained',
        stock, '--cfg-options', option
    ],
                    cwd=tmp_path,
                    check=False)
    # The option is named, and before the Runner makes the work dir.
    refused = refused_line(proc)
    assert refused.startswith(
        f"ConfigError: --cfg-options {option.split('=')[0]}="), refused
    assert refused.endswith(': ' + line[len('ConfigError: '):]), refused
    assert not (tmp_path / 'w').exists()


def test_tta_on_a_video_config_without_tta_fields(tmp_path, tiny_video_data):
    """MMAction2's tools/test.py has no --tta; ours needs the config's
    ``tta_model`` and ``tta_pipeline`` for video and says which it lacks.
    It stops before the checkpoint is read."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'test.py', config,
        unread_checkpoint(tmp_path), '--tta', '--work-dir', tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc) == (
        f'ConfigError: --tta on the video config {config} needs `tta_model` '
        'and `tta_pipeline` in the config, which lacks tta_model and '
        'tta_pipeline: MMAction2 has no default TTA model, and the test '
        'pipeline already averages the clips x crops of `test_pipeline`. '
        'Without --tta the multi-view test runs.')
    config = write_config(
        tmp_path / 'half.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "tta_model = dict(type='mmpretrain.AverageClsScoreTTA')\n")
    proc = run_tool([
        'test.py', config,
        unread_checkpoint(tmp_path), '--tta', '--work-dir', tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    assert 'which lacks tta_pipeline: ' in refused_line(proc)


def test_auto_scale_lr_without_a_base_batch_size(tmp_path, tiny_video_data):
    # The tiny config without its auto_scale_lr line: a config that has
    # none, like many users' own.
    with open(TINY_VIDEO_CONFIG) as f:
        text = ''.join(
            line for line in f if not line.startswith('auto_scale_lr'))
    # The copy is elsewhere: its relative _base_ made absolute.
    text = text.replace("'../_base_/", f"'{CONFIGS}/_base_/")
    base = tmp_path / 'no_asl_base.py'
    base.write_text(text)
    config = write_config(tmp_path / 'no_asl.py', str(base),
                          video_data_cfg(tiny_video_data))
    expected = ('ConfigError: --auto-scale-lr needs `auto_scale_lr = '
                'dict(enable=False, base_batch_size=N)` in the config, N '
                'being the total batch (GPUs x samples per GPU) its learning '
                f'rate is set for, but {config} ')
    args = [
        'train.py', config, '--work-dir', tmp_path / 'w', '--auto-scale-lr'
    ]
    line = refused_line(run_tool(args, cwd=tmp_path, check=False))
    assert line == expected + 'has none.'
    line = refused_line(
        run_tool(
            args + ['--cfg-options', 'auto_scale_lr.enable=False'],
            cwd=tmp_path,
            check=False))
    assert line == expected + 'has no base_batch_size in its auto_scale_lr.'
    # --cfg-options can give it: training runs with the scaled lr.
    proc = run_tool(
        args + [
            '--no-validate', '--cfg-options',
            'auto_scale_lr.base_batch_size=8', 'train_cfg.max_epochs=1'
        ],
        cwd=tmp_path)
    assert 'Scaling the original LR by 0.5' in proc.stdout


def _typo_line(config: str) -> str:
    """The line for the tiny AdaptFormer config, its wrapper misspelled."""
    return (f"ConfigError: {config}: model.backbone.type='AdaptFormr' is not "
            "in the mmaction::model registry; did you mean 'AdaptFormer'? "
            'Check the spelling, or import the module that registers it '
            '(custom_imports).')


@pytest.mark.parametrize(
    'tool', ['train.py', 'test.py', 'model_converters/extract_adapters.py'])
def test_a_misspelled_type_is_one_line_naming_the_file_and_key(
        tmp_path, tiny_video_data, tool):
    """MMEngine's KeyError ('AdaptFormr is not in the mmaction::model
    registry ...') was a 40-line traceback from the Runner that named
    neither the file nor the key."""
    config = write_config(
        tmp_path / 'typo.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "model = dict(backbone=dict(type='AdaptFormr'))\n")
    full = str(tmp_path / 'full.pth')
    save_stock_video_checkpoint(full)
    args = {
        'train.py': ['--work-dir', tmp_path / 'w'],
        'test.py': [full, '--work-dir', tmp_path / 'w'],
        'model_converters/extract_adapters.py': [full, tmp_path / 'a.pth'],
    }[tool]
    proc = run_tool([tool, config, *args], cwd=tmp_path, check=False)
    assert refused_line(proc) == _typo_line(config)


def test_a_misspelled_type_from_cfg_options_names_the_option(
        tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'test.py', config,
        unread_checkpoint(tmp_path), '--work-dir', tmp_path / 'w',
        '--cfg-options', 'model.cls_head.type=TimeSformerHaed'
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc).startswith(
        "ConfigError: --cfg-options model.cls_head.type='TimeSformerHaed' is "
        "not in the mmaction::model registry; did you mean 'TimeSformerHead'")


def test_a_misspelled_type_in_a_registry_named_with_a_space(
        tmp_path, tiny_video_data):
    """MMEngine's 'parameter scheduler' and 'data sampler' registries have
    a space in their names, which the registry-miss line did not read: a
    misspelled scheduler was a traceback from inside ``Runner.train``."""
    config = write_config(
        tmp_path / 'typo.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "param_scheduler = [dict(type='CosineAnealingLR', T_max=2)]\n")
    assert refused_run('train.py', config, tmp_path).startswith(
        f"ConfigError: {config}: param_scheduler[0].type='CosineAnealingLR' "
        'is not in the mmaction::parameter scheduler registry; did you mean '
        "'CosineAnnealingLR'")


@pytest.mark.parametrize(
    'tool', ['train.py', 'test.py', 'model_converters/merge_adapters.py'])
def test_a_config_that_is_not_python_names_the_file_and_line(tmp_path, tool):
    """It was a traceback ending in ``File "<unknown>", line 2 ...
    SyntaxError: '(' was never closed``: no file named. A CONFIG that
    cannot be read is a mistake of the command line, exit status 2, as in
    tools/infer.py (it was 1 in these tools, as if the run had failed)."""
    config = write_config(tmp_path / 'broken.py', TINY_VIDEO_CONFIG,
                          "model = dict(backbone=dict(type='AdaptFormer'\n")
    args = {
        'train.py': ['--work-dir', tmp_path / 'w'],
        'test.py': [unread_checkpoint(tmp_path)],
        'model_converters/merge_adapters.py':
        [unread_checkpoint(tmp_path), tmp_path / 'out.pth'],
    }[tool]
    prog = tool.rpartition('/')[2]
    proc = run_tool([tool, config, *args], cwd=tmp_path, check=False)
    assert usage_line(proc) == (
        f'{prog}: error: The config {config} is not valid Python: '
        "'(' was never closed (line 2).")
    # In a _base_ file, that file is named.
    child = write_config(tmp_path / 'child.py', config)
    proc = run_tool([tool, child, *args], cwd=tmp_path, check=False)
    assert usage_line(proc) == (
        f'{prog}: error: {config}, a _base_ of the config {child}, is not '
        "valid Python: '(' was never closed (line 2).")


@pytest.mark.parametrize('tool', ['extract_adapters.py', 'merge_adapters.py'])
def test_converters_refuse_a_config_without_adapter_hook(tmp_path, tool):
    """The stock config given by mistake ended with a KeyError traceback."""
    import torch
    if tool == 'extract_adapters.py':
        ckpt = str(tmp_path / 'full.pth')
        save_stock_video_checkpoint(ckpt)
    else:
        ckpt = str(tmp_path / 'adapters.pth')
        torch.save(
            dict(
                meta=dict(
                    adapter_checkpoint=dict(
                        saved_keys=['w'], frozen_digest='0')),
                state_dict=dict(w=torch.zeros(1))), ckpt)
    proc = run_tool(
        [f'model_converters/{tool}', TINY_VIDEO_CONFIG, ckpt, tmp_path / 'o'],
        cwd=tmp_path,
        check=False)
    assert refused_line(proc) == (
        f'ConfigError: {TINY_VIDEO_CONFIG} has no AdapterHook in '
        'custom_hooks, so which parts are trainable (and saved in an '
        'adapter-only checkpoint) is undefined. Give the AdaptFormer or VPT '
        'config the checkpoint was trained with, whose custom_hooks hold '
        "dict(type='AdapterHook', ...), not the stock model's.")
    assert not (tmp_path / 'o').exists()


@pytest.mark.parametrize('tool', [
    'train.py', 'test.py', 'model_converters/extract_adapters.py',
    'model_converters/merge_adapters.py'
])
def test_an_option_that_cannot_be_merged_is_one_line(tmp_path, tool):
    """An index the config's list lacks was MMEngine's traceback from
    ``merge_from_dict`` in every tool but infer.py."""
    args = {
        'train.py': ['--work-dir', tmp_path / 'w'],
        'test.py': [unread_checkpoint(tmp_path)],
        'model_converters/extract_adapters.py':
        [unread_checkpoint(tmp_path), tmp_path / 'out.pth'],
        'model_converters/merge_adapters.py':
        [unread_checkpoint(tmp_path), tmp_path / 'out.pth'],
    }[tool]
    proc = run_tool([
        tool, TINY_VIDEO_CONFIG, *args, '--cfg-options',
        'param_scheduler.5.T_max=1'
    ],
                    cwd=tmp_path,
                    check=False)
    line = ('--cfg-options param_scheduler.5.T_max=1 cannot be merged into '
            f'the config {TINY_VIDEO_CONFIG}: KeyError: "Index 5 exceeds the '
            'length of list [')
    # A usage error in every tool, as infer.py says it
    # (test_cfg_options_usage_errors); the converters ended with status 1.
    usage_line(proc)
    assert f'error: {line}' in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize('tool, option, line', [
    ('test.py', 'model.test_cfg.max_testing_view=2',
     '--cfg-options model.test_cfg.max_testing_view=2: Recognizer3D does not '
     "read test_cfg.max_testing_view (did you mean 'max_testing_views'?); "
     "mmaction2's Recognizer3D ignores a key it does not read without a "
     'word. It reads: fcn_test, max_testing_views.'),
    ('train.py', 'model.train_cfg.blending.type=MixupBlending',
     "--cfg-options model.train_cfg.blending.type='MixupBlending': "
     'Recognizer3D does not read train_cfg.blending; mmaction2 1.x reads it '
     'as model.data_preprocessor.blending, so here it would be ignored '
     'without a word. It reads no train_cfg key.'),
])
def test_a_recognizer_cfg_key_it_would_ignore_is_one_line(
        tmp_path, tiny_video_data, tool, option, line):
    """mmaction2's recognizers read ``model.test_cfg`` with ``.get``: a
    misspelled ``max_testing_views`` tested every view in one batch, and
    0.x's ``train_cfg.blending`` trained without mixup, without a word."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    assert refused_run(tool, config, tmp_path, '--cfg-options',
                       option) == 'ConfigError: ' + line
    assert not (tmp_path / 'w').exists()
