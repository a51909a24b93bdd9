# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A line of an image annotation list that mmpretrain's CustomDataset
cannot read is named with its file and number before the Runner."""
import pytest
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, run_tool, write_config
from mmengine.config import Config
from mmpretrain.datasets import CustomDataset
from refusal_lines import refused_line

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.dataset_check import check_datasets


def _config(root, ann_file):
    return Config(
        dict(
            default_scope='mmpretrain',
            test_dataloader=dict(
                dataset=dict(
                    type='CustomDataset',
                    data_root=str(root),
                    ann_file=str(ann_file),
                    pipeline=[dict(type='LoadImageFromFile')]))))


@pytest.mark.parametrize('text, number, line', [
    ('a.png 0\nb.png\n', 2, 'b.png'),
    ('a.png 0\n\n', 2, ''),
    ('a.png\t0\n', 1, 'a.png\t0'),
    ('a.png cat\n', 1, 'a.png cat'),
])
def test_a_line_mmpretrain_cannot_read_is_named(tmp_path, text, number, line):
    ann_file = tmp_path / 'list.txt'
    ann_file.write_text(text)
    # What the Runner met: an error that names neither file nor line.
    with pytest.raises(ValueError) as upstream:
        CustomDataset(data_root=str(tmp_path), ann_file=str(ann_file))
    assert str(ann_file) not in str(upstream.value)

    with pytest.raises(ConfigError) as error:
        check_datasets(
            _config(tmp_path, ann_file), 'c.py', ['test_dataloader'])
    assert str(error.value) == (
        'c.py: test_dataloader.dataset.ann_file (CustomDataset): line '
        f"{number} of {ann_file}, {line!r}, is not '<image> <label>' (the "
        'label an int, after the last space; CustomDataset reads every line '
        'of the list, a blank one too).')


def test_lines_it_reads_pass(tmp_path):
    """Spaces in a file name are fine: the label is after the last one."""
    ann_file = tmp_path / 'list.txt'
    ann_file.write_text('my cat.png 0\n  b.png 1  \n')
    assert len(CustomDataset(data_root=str(tmp_path),
                             ann_file=str(ann_file))) == 2
    check_datasets(_config(tmp_path, ann_file), 'c.py', ['test_dataloader'])


def test_tools_train_names_it_before_the_work_dir(tmp_path, tiny_image_data):
    ann_file = tmp_path / 'train.txt'
    ann_file.write_text('train/horizontal/0.png 0\ntrain/vertical/0.png\n')
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        f'train_dataloader.dataset.ann_file={ann_file}',
        'train_dataloader.dataset.data_prefix='
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc) == (
        'ConfigError: --cfg-options train_dataloader.dataset.ann_file='
        f"'{ann_file}' (CustomDataset): line 2 of {ann_file}, "
        "'train/vertical/0.png', is not '<image> <label>' (the label an int, "
        'after the last space; CustomDataset reads every line of the list, a '
        'blank one too).')
    assert not (tmp_path / 'w').exists()
