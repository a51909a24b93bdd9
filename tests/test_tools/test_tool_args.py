# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Argument handling of tools/train.py and tools/test.py."""
import os.path as osp
import re

import pytest
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, TOOLS, load_tool,
                     run_tool, write_config_chain)
from mmengine.config import Config
from refusal_lines import usage_line

from mmadaptformer.utils import ConfigError

train_tool = load_tool('train.py')
test_tool = load_tool('test.py')


def _train_cfg(argv, config=TINY_VIDEO_CONFIG):
    args = train_tool.parse_args([config] + argv)
    return train_tool.merge_args(Config.fromfile(config), args)


def test_train_defaults():
    cfg = _train_cfg([])
    assert cfg.work_dir == osp.join('./work_dirs', 'tiny_vit_video')
    assert cfg.launcher == 'none'
    assert cfg.resume is False and cfg.load_from is None
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'
    assert cfg.auto_scale_lr.enable is False
    assert cfg.randomness == dict(
        seed=None, diff_rank_seed=False, deterministic=False)


def test_train_flags():
    cfg = _train_cfg([
        '--work-dir', 'wd', '--amp', '--auto-scale-lr', '--seed', '7',
        '--diff-rank-seed', '--deterministic', '--no-validate', '--launcher',
        'pytorch', '--cfg-options', 'train_cfg.max_epochs=5',
        'optim_wrapper.optimizer.lr=0.5'
    ])
    assert cfg.work_dir == 'wd'
    # The recipes' wrapper on every device: MMEngine's AmpOptimWrapper needs
    # a GPU, and on one it fails in mmaction2's heads under bfloat16.
    assert cfg.optim_wrapper.type == 'AdaptAmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.auto_scale_lr.enable is True
    assert cfg.randomness == dict(
        seed=7, diff_rank_seed=True, deterministic=True)
    assert cfg.val_cfg is None and cfg.val_dataloader is None
    assert cfg.launcher == 'pytorch'
    assert cfg.train_cfg.max_epochs == 5
    assert cfg.optim_wrapper.optimizer.lr == 0.5


def test_train_resume():
    cfg = _train_cfg(['--resume'])
    assert cfg.resume is True and cfg.load_from is None
    cfg = _train_cfg(['--resume', 'work/epoch_3.pth'])
    assert cfg.resume is True and cfg.load_from == 'work/epoch_3.pth'


def test_train_image_config_gets_mmpretrain_dataloader_defaults():
    cfg = _train_cfg(['--seed', '3', '--no-persistent-workers'],
                     config=TINY_IMAGE_CONFIG)
    # mmpretrain's default_runtime sets `randomness`; the CLI seed still wins.
    assert cfg.randomness.seed == 3
    assert cfg.train_dataloader.pin_memory is True
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')


def test_train_rejects_amp_with_custom_wrapper():
    args = train_tool.parse_args([TINY_VIDEO_CONFIG, '--amp'])
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.optim_wrapper.type = 'MyWrapper'
    with pytest.raises(ValueError, match="'MyWrapper'"):
        train_tool.merge_args(cfg, args)


def test_test_tool_args():
    args = test_tool.parse_args([
        TINY_VIDEO_CONFIG, 'ckpt.pth', '--dump', 'out.pkl', '--cfg-options',
        'test_dataloader.batch_size=2'
    ])
    cfg = test_tool.merge_args(Config.fromfile(TINY_VIDEO_CONFIG), args)
    assert cfg.load_from == 'ckpt.pth'
    assert cfg.work_dir == osp.join('./work_dirs', 'tiny_vit_video')
    assert cfg.test_evaluator[-1] == dict(
        type='AtomicDumpResults', out_file_path='out.pkl')
    assert cfg.test_dataloader.batch_size == 2


def test_shell_scripts_use_torchrun_and_env():
    for name in ('dist_train.sh', 'dist_test.sh'):
        text = open(osp.join(TOOLS, name)).read()
        # torchrun through tools/misc/dist_run.py, which prints a refusal
        # of the workers once.
        assert '"$TOOLS_DIR/misc/dist_run.py"' in text
        for var in ('NNODES', 'NODE_RANK', 'MASTER_ADDR', 'PORT'):
            assert f'${var}' in text or f'${{{var}' in text, (name, var)
    for name in ('slurm_train.sh', 'slurm_test.sh'):
        assert '--launcher="slurm"' in open(osp.join(TOOLS, name)).read()


def _test_cfg(argv, config=TINY_VIDEO_CONFIG):
    args = test_tool.parse_args([config, 'ckpt.pth'] + argv)
    return test_tool.merge_args(Config.fromfile(config), args)


def test_test_out_writes_predictions_or_metrics():
    cfg = _test_cfg(['--out', 'preds.pkl', '--dump', 'dump.pkl'])
    assert cfg.test_evaluator[1:] == [
        dict(type='AtomicDumpResults', out_file_path='dump.pkl'),
        dict(type='AtomicDumpResults', out_file_path='preds.pkl')
    ]
    # Metrics are written by main() after testing, not by an evaluator.
    cfg = _test_cfg(['--out', 'metrics.json', '--out-item', 'metrics'])
    assert cfg.test_evaluator == dict(type='AccMetric')


@pytest.mark.parametrize('argv, message', [
    (['--out-item', 'metrics'], '--out-item needs --out'),
    (['--out', 'preds.json'], "'preds.json'"),
])
def test_test_out_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        test_tool.parse_args([TINY_VIDEO_CONFIG, 'ckpt.pth'] + argv)
    assert message in capsys.readouterr().err


def test_test_command_line_mistakes_are_one_line(tmp_path):
    """``--dump x.json`` ended in a ValueError traceback (status 1), an
    output that is a folder or the checkpoint only after testing, and
    ``--show`` on a config without a VisualizationHook in a KeyError."""
    checkpoint = tmp_path / 'ckpt.pth'
    checkpoint.write_bytes(b'not read')
    (tmp_path / 'folder.pkl').mkdir()
    cases = [
        (['--dump',
          'x.json'], "--dump must name a .pkl or .pickle file, got 'x.json'"),
        (['--dump', 'folder.pkl'],
         '--dump folder.pkl: it is a folder; give the file to write.'),
        (['--out', 'ckpt.pth', '--out-item', 'metrics'],
         '--out ckpt.pth is the same file as the checkpoint ckpt.pth: '
         'writing it would replace the checkpoint. Give another file.'),
        (['--show', '--interval',
          '0'], 'argument --interval: must be >= 1, got 0'),
    ]
    for argv, message in cases:
        proc = run_tool(
            ['test.py', TINY_VIDEO_CONFIG, 'ckpt.pth'] + argv,
            cwd=tmp_path,
            check=False)
        assert usage_line(proc) == f'test.py: error: {message}', \
            proc.stdout
    assert checkpoint.read_bytes() == b'not read'
    args = test_tool.parse_args([TINY_VIDEO_CONFIG, 'ckpt.pth', '--show'])
    # A config without one (the tiny config's is removed).
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.default_hooks.pop('visualization')
    with pytest.raises(ConfigError, match='--show needs a visualization hook'):
        test_tool.merge_args(cfg, args)


def test_test_out_that_is_a_file_the_config_reads_is_refused(tmp_path):
    """``--out X --out-item metrics`` over a JSON ``_base_`` of the config
    or its JSON ``ann_file``, and ``--dump`` over a pickled ``load_from``:
    the metrics or predictions replaced them after the test."""
    checkpoint = tmp_path / 'ckpt.pth'
    checkpoint.write_bytes(b'not read')
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'val.json').write_text('{"data_list": []}\n')
    (tmp_path / 'start.pkl').write_bytes(b'weights')
    paths = write_config_chain(
        str(tmp_path), TINY_VIDEO_CONFIG,
        f'load_from = {str(tmp_path / "start.pkl")!r}\n'
        f'test_dataloader = dict(dataset=dict(data_root={str(data)!r}, '
        "ann_file='val.json'))\n")
    config = paths['config']
    files = [paths['leaf'], data / 'val.json', tmp_path / 'start.pkl']
    before = {path: open(path, 'rb').read() for path in files}
    metrics = ['--out-item', 'metrics', '--out']
    cases = [
        (metrics + [paths['leaf']], f'--out {paths["leaf"]} is a _base_ of '
         'configs/_base_/mid.py, a _base_ of the config '
         f'{config}; it would be overwritten. Give another file.'),
        (metrics + ['data/val.json'], '--out data/val.json is '
         'test_dataloader.dataset.ann_file (under data_root) of the config '
         f'{config} ({data / "val.json"}); it would be overwritten.'),
        (['--dump', 'start.pkl'], '--dump start.pkl is load_from of the '
         f'config {config} ({tmp_path / "start.pkl"}); it would be '
         'overwritten.'),
    ]
    for argv, message in cases:
        proc = run_tool(
            ['test.py', config, 'ckpt.pth'] + argv, cwd=tmp_path, check=False)
        line = usage_line(proc)
        assert line.startswith(f'test.py: error: {message}'), line
    for path in files:
        assert open(path, 'rb').read() == before[path], path
    assert checkpoint.read_bytes() == b'not read'


def test_test_amp_tta_and_pin_memory_on_an_image_config():
    cfg = _test_cfg(['--amp', '--tta'], config=TINY_IMAGE_CONFIG)
    assert cfg.test_cfg.fp16 is True
    # MMPretrain's default TTA: the image and its flip, scores averaged.
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module.type == 'ImageClassifier'
    tta = cfg.test_dataloader.dataset.pipeline[-1]
    assert tta.type == 'TestTimeAug'
    assert [t['prob'] for t in tta.transforms[0]] == [1., 0.]
    assert cfg.test_dataloader.pin_memory is True
    assert cfg.test_dataloader.collate_fn == dict(type='default_collate')
    cfg = _test_cfg(['--no-pin-memory'], config=TINY_IMAGE_CONFIG)
    assert cfg.test_dataloader.pin_memory is False


def test_test_tta_on_a_video_config_says_what_it_needs():
    with pytest.raises(
            ConfigError,
            match='needs `tta_model` and `tta_pipeline` in the config, which '
            'lacks tta_model and tta_pipeline'):
        _test_cfg(['--tta'])
    args = test_tool.parse_args([TINY_VIDEO_CONFIG, 'ckpt.pth', '--tta'])
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
    cfg.tta_pipeline = cfg.test_pipeline
    cfg = test_tool.merge_args(cfg, args)
    assert cfg.model.module.type == 'Recognizer3D'


def _help(tool, capsys):
    with pytest.raises(SystemExit):
        tool.parse_args(['--help'])
    return set(re.findall(r'--[\w-]+', capsys.readouterr().out))


def test_every_toolbox_flag_is_accepted(capsys):
    """The flags of MMAction2's and MMPretrain's train/test tools."""
    train = _help(train_tool, capsys)
    for flag in ('--work-dir', '--resume', '--amp', '--no-validate',
                 '--auto-scale-lr', '--no-pin-memory',
                 '--no-persistent-workers', '--cfg-options', '--launcher',
                 '--local_rank', '--local-rank', '--seed', '--diff-rank-seed',
                 '--deterministic', '--pretrained'):
        assert flag in train, flag
    test = _help(test_tool, capsys)
    for flag in ('--work-dir', '--out', '--out-item', '--cfg-options', '--amp',
                 '--show-dir', '--show', '--interval', '--wait-time',
                 '--no-pin-memory', '--tta', '--launcher', '--local_rank',
                 '--local-rank', '--dump', '--pretrained'):
        assert flag in test, flag


@pytest.mark.parametrize('script, nargs', [('dist_train.sh', 2),
                                           ('dist_test.sh', 3),
                                           ('slurm_train.sh', 3),
                                           ('slurm_test.sh', 4)])
def test_shell_scripts_print_usage_without_arguments(script, nargs, tmp_path):
    proc = run_tool([script], cwd=tmp_path, check=False)
    usage_line(proc, absent=['Error'])
    assert 'Usage:' in proc.stdout and script in proc.stdout
    if script.startswith('dist_'):
        args = ['cfg.py', 'ckpt.pth'][:nargs - 1] + ['two']
        proc = run_tool([script] + args, cwd=tmp_path, check=False)
        assert proc.returncode == 2
        assert "GPUS must be a positive integer, got 'two'" in proc.stdout


@pytest.mark.parametrize('script, args, tool', [
    ('dist_train.sh', ['cfg.py', '3', '--seed', '1'], 'train.py'),
    ('dist_test.sh', ['cfg.py', 'c k.pth', '3', '--dump', 'a b.pkl'
                      ], 'test.py'),
])
def test_dist_scripts_run_the_python_in_PYTHON(script, args, tool, tmp_path):
    """PYTHON picks the interpreter; here one that records its arguments."""
    record = tmp_path / 'argv.txt'
    fake = tmp_path / 'fake_python'
    fake.write_text('#!/usr/bin/env bash\n'
                    f'printf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)
    run_tool([script] + args, cwd=tmp_path, env=dict(PYTHON=str(fake)))
    argv = record.read_text().splitlines()
    assert argv[0].endswith('tools/misc/dist_run.py')
    assert '--nproc_per_node=3' in argv
    rest = argv[[i for i, a in enumerate(argv)
                 if a.endswith(f'tools/{tool}')][0] + 1:]
    expected = {
        'train.py': ['cfg.py', '--launcher', 'pytorch', '--seed', '1'],
        'test.py':
        ['cfg.py', 'c k.pth', '--launcher', 'pytorch', '--dump', 'a b.pkl']
    }[tool]
    assert rest == expected
