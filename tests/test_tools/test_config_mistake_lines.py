# Copyright (c) mmadaptformer contributors. All rights reserved.
"""More config mistakes that end the tools with one line naming the key,
the value and what was expected, exit status 1, no traceback: adapter
arguments and ``block_types``, ``--tta`` on a video config without TTA
fields and ``--auto-scale-lr`` on a config without a base batch size."""
import pytest
from helpers import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, image_data_cfg, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from refusal_lines import refused_line, usage_line


def _unread(tmp_path) -> str:
    """An empty ``.pth`` file, for the tools' checkpoint argument: a tool
    that read it before finding the config's mistake would fail on it
    (test.py refuses a checkpoint that is not there before anything)."""
    path = tmp_path / 'unread.pth'
    path.touch()
    return str(path)


def _refused(proc) -> str:
    return refused_line(proc)


def _refused_run(tool: str, config: str, tmp_path, *options) -> str:
    """The line ``tool`` (``train.py``, or ``test.py`` with an unread
    checkpoint) is refused with on ``config`` and ``options``, its work dir
    ``tmp_path / 'w'``."""
    args = [_unread(tmp_path)] if tool == 'test.py' else []
    return _refused(
        run_tool([tool, config, *args, '--work-dir', tmp_path / 'w', *options],
                 cwd=tmp_path,
                 check=False))


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
    refused = _refused(proc)
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
        _unread(tmp_path), '--tta', '--work-dir', tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    assert _refused(proc) == (
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
        _unread(tmp_path), '--tta', '--work-dir', tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    assert 'which lacks tta_pipeline: ' in _refused(proc)


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
    line = _refused(run_tool(args, cwd=tmp_path, check=False))
    assert line == expected + 'has none.'
    line = _refused(
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
    assert _refused(proc) == _typo_line(config)


def test_a_misspelled_type_from_cfg_options_names_the_option(
        tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'test.py', config,
        _unread(tmp_path), '--work-dir', tmp_path / 'w', '--cfg-options',
        'model.cls_head.type=TimeSformerHaed'
    ],
                    cwd=tmp_path,
                    check=False)
    assert _refused(proc).startswith(
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
    assert _refused_run('train.py', config, tmp_path).startswith(
        f"ConfigError: {config}: param_scheduler[0].type='CosineAnealingLR' "
        'is not in the mmaction::parameter scheduler registry; did you mean '
        "'CosineAnnealingLR'")


@pytest.mark.parametrize(
    'tool', ['train.py', 'test.py', 'model_converters/merge_adapters.py'])
def test_a_config_that_is_not_python_names_the_file_and_line(tmp_path, tool):
    """It was a traceback ending in ``File "<unknown>", line 2 ...
    SyntaxError: '(' was never closed``: no file named."""
    config = write_config(tmp_path / 'broken.py', TINY_VIDEO_CONFIG,
                          "model = dict(backbone=dict(type='AdaptFormer'\n")
    args = {
        'train.py': ['--work-dir', tmp_path / 'w'],
        'test.py': [_unread(tmp_path)],
        'model_converters/merge_adapters.py':
        [_unread(tmp_path), tmp_path / 'out.pth'],
    }[tool]
    proc = run_tool([tool, config, *args], cwd=tmp_path, check=False)
    assert _refused(proc) == (
        f'ConfigError: The config {config} is not valid Python: '
        "'(' was never closed (line 2).")
    # In a _base_ file, that file is named.
    child = write_config(tmp_path / 'child.py', config)
    proc = run_tool([tool, child, *args], cwd=tmp_path, check=False)
    assert _refused(proc) == (
        f'ConfigError: {config}, a _base_ of the config {child}, is not '
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
    assert _refused(proc) == (
        f'ConfigError: {TINY_VIDEO_CONFIG} has no AdapterHook in '
        'custom_hooks, so which parts are trainable (and saved in an '
        'adapter-only checkpoint) is undefined. Give the AdaptFormer or VPT '
        'config the checkpoint was trained with, whose custom_hooks hold '
        "dict(type='AdapterHook', ...), not the stock model's.")
    assert not (tmp_path / 'o').exists()


@pytest.mark.parametrize('tool, loader', [('train.py', 'train_dataloader'),
                                          ('train.py', 'val_dataloader'),
                                          ('test.py', 'test_dataloader')])
def test_a_transform_that_cannot_be_built_is_one_line(tmp_path,
                                                      tiny_video_data, tool,
                                                      loader):
    """A transform with a wrong argument was a traceback from inside the
    Runner's loop (``TypeError: Resize.__init__() got an unexpected
    keyword argument 'bogus'``, through the dataset and Compose), which
    named neither the file nor the key; it is now named before the Runner
    is built."""
    config = write_config(
        tmp_path / 'bogus.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        f'{loader} = dict(dataset=dict(pipeline=[dict(type="DecordInit"), '
        'dict(type="Resize", scale=(-1, 32), bogus=1)]))\n')
    assert _refused_run(tool, config, tmp_path) == (
        f'ConfigError: {config}: {loader}.dataset.pipeline[1] (Resize) '
        'cannot be built: TypeError: Resize.__init__() got an unexpected '
        "keyword argument 'bogus'.")
    assert not (tmp_path / 'w').exists() or not any(
        (tmp_path / 'w').rglob('*.pth'))


@pytest.mark.parametrize('tool, loader', [('train.py', 'val_dataloader'),
                                          ('test.py', 'test_dataloader')])
def test_an_argument_sample_frames_would_drop_is_one_line(
        tmp_path, tiny_video_data, tool, loader):
    """mmaction2's SampleFrames drops an argument it does not know: a
    validation or test pipeline with ``num_clip=2`` ran with one clip per
    video, without a word."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    refused = _refused_run(tool, config, tmp_path, '--cfg-options',
                           f'{loader}.dataset.pipeline.1.num_clip=2')
    assert refused.startswith(
        f'ConfigError: --cfg-options {loader}.dataset.pipeline.1.num_clip=2: '
        "SampleFrames takes no argument 'num_clip' (did you mean "
        "'num_clips'?); mmaction2's SampleFrames accepts and drops arguments "
        'it does not know')
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('tool, loader', [('train.py', 'train_dataloader'),
                                          ('train.py', 'val_dataloader'),
                                          ('test.py', 'test_dataloader')])
def test_a_dataset_argument_that_is_wrong_is_one_line(tmp_path,
                                                      tiny_video_data, tool,
                                                      loader):
    """A dataset argument its class does not take, or a value it refuses,
    was a traceback from inside the Runner's loop (``TypeError:
    BaseDataset.__init__() got an unexpected keyword argument 'bogus'``),
    after the work dir was made; it is now named before the Runner is
    built, with the ``--cfg-options`` that set it."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    refused = _refused_run(tool, config, tmp_path, '--cfg-options',
                           f'{loader}.dataset.check_files=nope')
    assert refused == (
        f'ConfigError: {config}: {loader}.dataset (CheckedVideoDataset) with '
        f"--cfg-options {loader}.dataset.check_files='nope' cannot be built: "
        "ValueError: CheckedVideoDataset: check_files='nope' is not one of "
        "('sample', 'all', None).")
    assert not (tmp_path / 'w').exists()
    if tool == 'train.py':
        config = write_config(
            tmp_path / 'bogus.py', TINY_VIDEO_CONFIG,
            video_data_cfg(tiny_video_data) +
            f'{loader} = dict(dataset=dict(bogus=1))\n')
        proc = run_tool([tool, config, '--work-dir', tmp_path / 'w'],
                        cwd=tmp_path,
                        check=False)
        assert _refused(proc).startswith(
            f'ConfigError: {config}: {loader}.dataset.bogus: unknown '
            "argument 'bogus' of CheckedVideoDataset. It takes: ann_file, ")
        assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('tool, option, line', [
    ('train.py', 'train_dataloader.batch_sise=2',
     "--cfg-options train_dataloader.batch_sise=2: 'batch_sise' is no "
     "dataloader argument (did you mean 'batch_size' or 'batch_sampler'?); "
     "PyTorch's DataLoader would refuse it after the Runner has made the "
     "work dir. MMEngine's Runner and PyTorch's DataLoader take: dataset, "
     'sampler, '),
    ('test.py', 'test_dataloader.sampler.shufle=False',
     '--cfg-options test_dataloader.sampler.shufle=False: DefaultSampler '
     "takes no argument 'shufle' (did you mean 'shuffle'?). It takes: "
     'shuffle, round_up.'),
])
def test_a_dataloader_argument_that_is_wrong_is_one_line(
        tmp_path, tiny_video_data, tool, option, line):
    """A dataloader or sampler argument misspelled was a traceback from
    inside the Runner's loop (``TypeError: DataLoader.__init__() got an
    unexpected keyword argument 'batch_sise'``)."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    assert _refused_run(tool, config, tmp_path, '--cfg-options',
                        option).startswith('ConfigError: ' + line)
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('option, line', [
    ('optim_wrapper.optimizer.lrr=0.1',
     '--cfg-options optim_wrapper.optimizer.lrr=0.1: SGD takes no argument '
     "'lrr' (did you mean 'lr'?). It takes: lr, momentum, dampening, "
     'weight_decay, nesterov, maximize, foreach, differentiable, fused.'),
    ('param_scheduler.0.T_mx=2',
     '--cfg-options param_scheduler.0.T_mx=2: CosineAnnealingLR (through '
     "CosineAnnealingParamScheduler.__init__) takes no argument 'T_mx' (did "
     "you mean 'T_max'?)."),
    ('randomness.sed=1',
     '--cfg-options randomness.sed=1: randomness is passed to '
     "Runner.set_randomness, which takes no argument 'sed' (did you mean "
     "'seed'?)."),
    ('default_hooks.checkpoint.intervl=1',
     '--cfg-options default_hooks.checkpoint.intervl=1: '
     'AtomicCheckpointHook takes no argument intervl=1 (did you mean '
     "'interval'?): CheckpointHook passes the arguments it does not know to "
     'ConfigCopyRunner.save_checkpoint, which would refuse it at the first '
     'save, after the first epoch.'),
])
def test_an_argument_the_runner_cannot_build_with_is_one_line(
        tmp_path, tiny_video_data, option, line):
    """A misspelled optimizer or scheduler argument was a traceback from
    ``Runner.train`` (``TypeError: SGD.__init__() got an unexpected keyword
    argument 'lrr'``); a misspelled checkpoint hook argument was one at the
    first save, after an epoch of training. Both are named before any
    training step."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        option
    ],
                    cwd=tmp_path,
                    check=False)
    assert _refused(proc) == 'ConfigError: ' + line
    assert 'Epoch(train)' not in proc.stdout
    assert not list((tmp_path / 'w').rglob('*.pth'))


@pytest.mark.parametrize('tool', [
    'train.py', 'test.py', 'model_converters/extract_adapters.py',
    'model_converters/merge_adapters.py'
])
def test_an_option_that_cannot_be_merged_is_one_line(tmp_path, tool):
    """An index the config's list lacks was MMEngine's traceback from
    ``merge_from_dict`` in every tool but infer.py."""
    args = {
        'train.py': ['--work-dir', tmp_path / 'w'],
        'test.py': [_unread(tmp_path)],
        'model_converters/extract_adapters.py':
        [_unread(tmp_path), tmp_path / 'out.pth'],
        'model_converters/merge_adapters.py':
        [_unread(tmp_path), tmp_path / 'out.pth'],
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


def test_no_validate_wins_over_validation_options(tmp_path, tiny_video_data):
    """``--no-validate`` cleared val_dataloader before ``--cfg-options``
    were merged, so an option under it ended the run with MMEngine's
    ``TypeError: ... cannot inherit from base because val_dataloader is a
    dict in the child config but is of type NoneType``."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--no-validate',
        '--cfg-options', 'val_dataloader.batch_size=1',
        'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path)
    assert 'Epoch(train)' in proc.stdout
    assert 'Epoch(val)' not in proc.stdout
    assert list((tmp_path / 'w').rglob('epoch_1.pth'))


@pytest.mark.parametrize('tool, option, line', [
    ('train.py', 'env_cfg.cudnn_benchmrk=True',
     "--cfg-options env_cfg.cudnn_benchmrk=True: 'cudnn_benchmrk' is no "
     "env_cfg key (did you mean 'cudnn_benchmark'?); MMEngine's Runner "
     'would ignore it without a word.'),
    ('test.py', 'env_cfg.mp_cfg.mp_start_methd=spawn',
     "--cfg-options env_cfg.mp_cfg.mp_start_methd='spawn': 'mp_start_methd' "
     "is no env_cfg.mp_cfg key (did you mean 'mp_start_method'?); "
     "MMEngine's set_multi_processing would refuse it."),
    ('train.py', 'default_hooks.chekpoint.interval=2',
     '--cfg-options default_hooks.chekpoint.interval=2: '
     "default_hooks.chekpoint is a dict without a type ({'interval': 2}) "
     "(did you mean 'checkpoint' or 'checkpoint_check'?); the Runner "
     'merges default hooks by name'),
    ('train.py', 'auto_scale_lr.enabel=True',
     "--cfg-options auto_scale_lr.enabel=True: 'enabel' is no auto_scale_lr "
     "key (did you mean 'enable'?); MMEngine's Runner would ignore it "
     'without a word.'),
    ('train.py', 'optim_wrapper.clip_grad.max_norn=1',
     "--cfg-options optim_wrapper.clip_grad.max_norn=1: 'max_norn' is no "
     'argument of torch.nn.utils.clip_grad_norm_ (did you mean '
     "'max_norm'?)"),
    ('test.py', 'log_level=info',
     "--cfg-options log_level='info': log_level='info' is no logging level "
     "(did you mean 'INFO'?)"),
    ('train.py', 'optim_wrapper.paramwise_cfg.custom_keys.head.lr_mul=10',
     '--cfg-options optim_wrapper.paramwise_cfg.custom_keys.head.lr_mul=10: '
     "'lr_mul' is no multiplier (did you mean 'lr_mult'?)"),
])
def test_a_key_the_runner_reads_itself_is_checked_first(
        tmp_path, tiny_video_data, tool, option, line):
    """A misspelled ``env_cfg`` key was silently ignored by the Runner (the
    run went on without the setting); a misspelled ``mp_cfg`` key was a
    traceback from the Runner's constructor, after the work dir was made;
    a misspelled default hook was ``KeyError: '`cfg` or `default_args`
    must contain the key "type"'`` and a lower-case log level ``KeyError:
    'info'``, both tracebacks; a misspelled ``lr_mult`` trained at the
    base lr without a word."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    refused = _refused_run(tool, config, tmp_path, '--cfg-options', option,
                           'train_cfg.max_epochs=1')
    assert refused.startswith('ConfigError: ' + line)
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_a_missing_annotation_file_is_named_before_the_runner(
        tmp_path, tiny_video_data, tool):
    """MMEngine reads an annotation list while the Runner builds its
    dataset: a path that was wrong ended the run with ``FileNotFoundError:
    Annotation file not found`` after the work dir was made (for the
    validation set, after the model was built). It is named, with its
    key, before anything is made."""
    loader = 'val_dataloader' if tool == 'train.py' else 'test_dataloader'
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        f"{loader} = dict(dataset=dict(ann_file='vall.txt', "
        f'data_root={str(tmp_path)!r}))\n')
    assert _refused_run(tool, config, tmp_path) == (
        f'ConfigError: {config}: {loader}.dataset.ann_file '
        f'(CheckedVideoDataset): the annotation file {tmp_path}/vall.txt '
        'does not exist.')
    assert not (tmp_path / 'w').exists()


def test_a_missing_image_folder_is_named_before_the_runner(tmp_path):
    """The tiny image config lists class folders (no annotation file);
    a ``data_root`` that was wrong was ``FileNotFoundError: [Errno 2] No
    such file or directory: '.../train'`` after the work dir was made."""
    proc = run_tool([
        'train.py', TINY_IMAGE_CONFIG, '--work-dir', tmp_path / 'w',
        '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/no'
    ],
                    cwd=tmp_path,
                    check=False)
    assert _refused(proc) == (
        f'ConfigError: {TINY_IMAGE_CONFIG}: train_dataloader.dataset.'
        f'data_prefix (CustomDataset): the image folder {tmp_path}/no/train '
        'does not exist (without an ann_file, CustomDataset lists the class '
        'folders in it).')
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('tool, given, line', [
    ('train.py', ['--resume', 'gone.pth'
                  ], 'train.py: error: --resume {tmp}/gone.pth: no such file'),
    ('test.py', ['gone.pth'
                 ], 'test.py: error: checkpoint {tmp}/gone.pth: no such file'),
    ('test.py', ['w0'],
     'test.py: error: checkpoint {tmp}/w0: it is a folder, not a file'),
    ('test.py', ['{unread}', '--pretrained', 'gone.pth'],
     'test.py: error: --pretrained {tmp}/gone.pth: no such file'),
])
def test_a_missing_checkpoint_on_the_command_line_is_named_first(
        tmp_path, tiny_video_data, tool, given, line):
    """A checkpoint that is not there was found only when the Runner loaded
    it (``FileNotFoundError: Checkpoint file not found``), after it had
    made a timestamped log folder in the work dir and built the model. It
    is a mistake of the command line (exit 2, as infer.py says it), named
    before anything is made."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    (tmp_path / 'w0').mkdir()
    unread = _unread(tmp_path)
    given = [
        str(tmp_path / a) if a in ('gone.pth',
                                   'w0') else a.format(unread=unread)
        for a in given
    ]
    proc = run_tool([tool, config, *given, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == line.format(tmp=tmp_path)
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('where', ['config', 'option', 'folder'])
def test_a_missing_load_from_is_named_before_the_runner(
        tmp_path, tiny_video_data, where):
    """``load_from`` set in the config or by ``--cfg-options``: a file that
    is not there was ``FileNotFoundError: Checkpoint file not found`` after
    the Runner had made a log folder in the work dir and built the model.
    It is named with the key, or the option that set it."""
    gone = str(tmp_path / ('w0' if where == 'folder' else 'gone.pth'))
    (tmp_path / 'w0').mkdir()
    extra = f'load_from = {gone!r}\n' if where != 'option' else ''
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data) + extra)
    options = ['--cfg-options', f'load_from={gone}'] \
        if where == 'option' else []
    proc = run_tool(
        ['train.py', config, '--work-dir', tmp_path / 'w'] + options,
        cwd=tmp_path,
        check=False)
    place = f"--cfg-options load_from='{gone}'" if where == 'option' else \
        f'{config}: load_from'
    problem = 'is a folder, not a checkpoint file' if where == 'folder' \
        else 'does not exist'
    assert _refused(proc) == (
        f'ConfigError: {place}: the checkpoint {gone} {problem}.')
    assert not (tmp_path / 'w').exists()


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
    assert _refused_run(tool, config, tmp_path, '--cfg-options',
                        option) == 'ConfigError: ' + line
    assert not (tmp_path / 'w').exists()


def test_save_best_is_checked_against_the_validation_metrics(
        tmp_path, tiny_video_data):
    """mmpretrain's metric name on a video config failed with a KeyError at
    the first validation, after the epoch had trained; it is named before
    anything is made. The name the validation gives trains and keeps its
    best checkpoint."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    assert _refused_run(
        'train.py', config, tmp_path, '--cfg-options',
        'default_hooks.checkpoint.save_best=accuracy/top1',
        'train_cfg.max_epochs=1'
    ) == (
        'ConfigError: --cfg-options default_hooks.checkpoint.save_best='
        "'accuracy/top1': save_best='accuracy/top1' is no metric the "
        "validation gives (did you mean 'acc/top1' or 'acc/top5'?); "
        "MMEngine's "
        'CheckpointHook would fail on it (KeyError) at the first validation, '
        'after training. The validation gives: acc/top1, acc/top5, '
        'acc/mean1.')
    assert not (tmp_path / 'w').exists()
    run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        'default_hooks.checkpoint.save_best=acc/top1', 'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path)
    assert list((tmp_path / 'w').glob('best_acc_top1_epoch_1.pth'))


def test_a_scheduler_that_starts_after_the_run_ends_is_one_line(
        tmp_path, tiny_image_data):
    """A stock recipe's warm-up then cosine (``begin=20``, ``end`` left to
    the run's length) on a run shortened to one epoch failed inside the
    Runner with ``end should be larger than begin``, naming no key."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + '\ntrain_cfg = dict(max_epochs=30)\n'
        'param_scheduler = [\n'
        '    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0,'
        ' end=20),\n'
        '    dict(type="CosineAnnealingLR", by_epoch=True, begin=20,'
        ' T_max=10)]\n')
    refused = _refused_run('train.py', config, tmp_path, '--cfg-options',
                           'train_cfg.max_epochs=1')
    assert refused == (
        'ConfigError: --cfg-options train_cfg.max_epochs=1: '
        'param_scheduler[1] (CosineAnnealingLR) has begin=20 and no end, so '
        'it ends with training: train_cfg.max_epochs=1 (epochs); MMEngine '
        'would refuse it once training starts (end should be larger than '
        'begin). For a run this short, set param_scheduler[1].begin below 1 '
        '(and its T_max, if any, to the epochs it spans) or remove '
        'param_scheduler[1]; or train longer than 20 epochs.')
    assert not (tmp_path / 'w').exists()
