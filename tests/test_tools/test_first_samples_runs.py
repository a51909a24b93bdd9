# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/train.py with a training transform whose settings fail when it
runs: ``Cutout(pad_val=300)`` built, and the run ended with a traceback
(``OverflowError: Python integer 300 out of bounds for uint8``) at the
first batch, naming no key, after the work dir was made. It is refused
before, naming the key, with ``prob=1.0`` for the check."""
from config_writers import write_config
from refusal_lines import refused_line
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_tool


def test_train_py_refuses_cutout_beyond_uint8(tmp_path, tiny_image_data):
    loaders = ''.join(
        f'{loader} = dict(dataset=dict(data_root={tiny_image_data!r}))\n'
        for loader in ('val_dataloader', 'test_dataloader'))
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, loaders +
        f'train_dataloader = dict(dataset=dict(data_root={tiny_image_data!r}, '
        "pipeline=[dict(type='LoadImageFromFile'), dict(type='Cutout', "
        "shape=8, pad_val=300), dict(type='PackInputs')]))\n")
    line = refused_line(
        run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                 tmp_path,
                 check=False),
        no_dir=tmp_path / 'w')
    assert line.startswith(
        f'ConfigError: {config}: train_dataloader.dataset.pipeline[1]: '
        'Cutout failed on each of the 2 samples of train_dataloader it was '
        f'tried on ({tiny_image_data}/train/'), line
    assert line.endswith(
        'with prob=1.0 where the run applies it with prob=0.5, after the '
        'file was read: OverflowError: Python integer 300 out of bounds for '
        "uint8. Check that transform's settings and those of the ones "
        'before it.'), line
