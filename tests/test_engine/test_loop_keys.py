# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`~mmadaptformer.engine.train_loop_check.check_loop_keys`: a key of
a loop config without a ``type`` (``train_cfg.max_epoch=1``,
``test_cfg.fp61=True``) is named before anything is built; it was a
``TypeError`` from the loop's constructor once the model was built and
loaded, naming neither the file nor the key."""
import pytest
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import image_data_cfg, write_config
from mmengine.config import Config
from refusal_lines import refused_line
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_tool

from mmadaptformer.engine import check_loop_keys, check_train_loop
from mmadaptformer.utils import ConfigError


@pytest.mark.parametrize('key, loop, wrong, close, loop_class', [
    ('train_cfg', dict(by_epoch=True, max_epochs=2), 'max_epoch', 'max_epochs',
     'EpochBasedTrainLoop'),
    ('train_cfg', dict(by_epoch=False, max_iters=2), 'max_iter', 'max_iters',
     'IterBasedTrainLoop'),
    ('train_cfg', dict(by_epoch=True, max_epochs=2), 'by_epochs', 'by_epoch',
     'EpochBasedTrainLoop'),
    ('val_cfg', dict(), 'fp61', 'fp16', 'ValLoop'),
    ('test_cfg', dict(), 'fp61', 'fp16', 'TestLoop'),
])
def test_unknown_key_of_an_untyped_loop_is_named(key, loop, wrong, close,
                                                 loop_class):
    loop[wrong] = 1
    with pytest.raises(ConfigError) as info:
        check_loop_keys(Config({key: loop}), 'cfg.py', None, [key])
    message = str(info.value)
    assert message.startswith(f'cfg.py: {key}.{wrong}:'), message
    assert f"did you mean '{close}'" in message, message
    assert loop_class in message, message


def test_train_check_names_a_val_cfg_key_and_where_it_was_set():
    """``check_train_loop`` (what ``tools/train.py`` runs) checks both loops
    it builds, and names the ``--cfg-options`` entry that set the key."""
    cfg = Config(
        dict(
            train_cfg=dict(by_epoch=True, max_epochs=2),
            val_cfg=dict(fp61=True)))
    with pytest.raises(ConfigError) as info:
        check_train_loop(cfg, 'cfg.py', {'val_cfg.fp61': True})
    assert str(info.value).startswith('--cfg-options val_cfg.fp61=True:'), str(
        info.value)


def test_typed_and_correct_loops_pass():
    """Guard of kept behaviour: a loop with a ``type`` is left to its
    registry (whose classes may take other arguments), so is a config of
    another runner, and every key the loops take passes."""
    check_loop_keys(
        Config(dict(runner_type='MyRunner', train_cfg=dict(anything=1))),
        'cfg.py', None)
    check_loop_keys(
        Config(
            dict(
                train_cfg=dict(type='MyLoop', anything=1),
                val_cfg=dict(fp16=False))), 'cfg.py', None)
    check_loop_keys(
        Config(
            dict(
                train_cfg=dict(
                    by_epoch=False,
                    max_iters=4,
                    val_begin=1,
                    val_interval=2,
                    dynamic_intervals=None),
                test_cfg=dict(fp16=True))), 'cfg.py', None,
        ['train_cfg', 'test_cfg'])


@pytest.mark.parametrize('tool, option', [
    ('train.py', 'train_cfg.max_epoch=1'),
    ('test.py', 'test_cfg.fp61=True'),
])
def test_tools_refuse_a_loop_key_typo_before_the_work_dir(
        tmp_path, tiny_image_data, tool, option):
    config = write_config(tmp_path / 'tiny.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    args = [tool, config]
    if tool == 'test.py':
        checkpoint = str(tmp_path / 'stock.pth')
        save_stock_image_checkpoint(checkpoint)
        args.append(checkpoint)
    work = tmp_path / 'work'
    proc = run_tool(
        args + ['--work-dir', work, '--cfg-options', option],
        cwd=tmp_path,
        check=False)
    line = refused_line(proc, no_dir=str(work))
    assert line.startswith(f'ConfigError: --cfg-options {option}:'), line
    assert 'did you mean' in line, line
