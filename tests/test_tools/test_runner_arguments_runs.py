# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An argument of a class the Runner alone built, through the tools: the
log processor's was a raw ``TypeError: LogProcessor.__init__() got an
unexpected keyword argument 'window_sizee'`` after the work dir was made;
a metric's and a hook's were named, but only after it. Each is refused
before the work dir."""
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import image_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_tool


def test_train_py_names_the_log_processors_argument(tmp_path, tiny_image_data):
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        'log_processor.window_sizee=10'
    ],
                    tmp_path,
                    check=False)
    assert refused_line(
        proc, no_dir=tmp_path /
        'w') == ('ConfigError: --cfg-options log_processor.window_sizee=10: '
                 "LogProcessor takes no argument 'window_sizee' (did you mean "
                 "'window_size'?).")


def test_test_py_names_the_metrics_and_the_hooks_argument(
        tmp_path, tiny_image_data):
    stock = str(tmp_path / 'stock.pth')
    save_stock_image_checkpoint(stock)
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "test_evaluator = dict(type='Accuracy', topkk=(1, ))\n")
    proc = run_tool(['test.py', config, stock, '--work-dir', tmp_path / 'w'],
                    tmp_path,
                    check=False)
    assert refused_line(
        proc, no_dir=tmp_path / 'w') == (
            f'ConfigError: {config}: test_evaluator.topkk: Accuracy takes no '
            "argument 'topkk' (did you mean 'topk'?).")
    plain = write_config(tmp_path / 'plain.py', TINY_IMAGE_CONFIG,
                         image_data_cfg(tiny_image_data))
    proc = run_tool([
        'test.py', plain, stock, '--work-dir', tmp_path / 'w', '--cfg-options',
        'default_hooks.timer.intervall=2'
    ],
                    tmp_path,
                    check=False)
    assert refused_line(
        proc, no_dir=tmp_path /
        'w') == ('ConfigError: --cfg-options default_hooks.timer.intervall=2: '
                 "IterTimerHook takes no argument 'intervall'.")
