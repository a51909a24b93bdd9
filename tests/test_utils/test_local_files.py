# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Local paths and addresses, and the first named file that is missing;
``load_from`` is checked with them before the Runner is built."""
import pytest
from mmengine.config import Config

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.local_files import first_missing_file, is_local
from mmadaptformer.utils.runner_check import check_load_from


@pytest.mark.parametrize('path, local', [
    ('work_dirs/epoch_1.pth', True),
    ('/abs/epoch_1.pth', True),
    ('odd://name.pth', False),
    ('dir/with://inside.pth', True),
    ('https://host/x.pth', False),
    ('s3://bucket/x.pth', False),
    ('open-mmlab://resnet50', False),
    ('torchvision://resnet50', False),
])
def test_an_address_is_not_local(path, local):
    assert is_local(path) is local


def test_the_first_missing_file_is_named(tmp_path):
    there = tmp_path / 'there.pth'
    there.touch()
    assert first_missing_file([(str(there), 'checkpoint'), (None, 'x'),
                               ('https://h/gone.pth', '--pretrained')]) is None
    assert first_missing_file([
        (str(there), 'config'),
        (str(tmp_path / 'gone.pth'), 'checkpoint'),
        (str(tmp_path / 'gone2.pth'), '--pretrained'),
    ]) == f'checkpoint {tmp_path}/gone.pth: no such file'
    assert first_missing_file([(str(tmp_path), '--resume')]) == \
        f'--resume {tmp_path}: it is a folder, not a file'


def test_load_from_must_be_a_file(tmp_path):
    there = tmp_path / 'there.pth'
    there.touch()
    for fine in (None, '', str(there), 'https://h/gone.pth'):
        check_load_from(Config(dict(load_from=fine)), 'c.py')
    check_load_from(Config(dict()), 'c.py')
    gone = str(tmp_path / 'gone.pth')
    with pytest.raises(ConfigError) as e:
        check_load_from(Config(dict(load_from=gone)), 'c.py')
    assert str(e.value) == \
        f'c.py: load_from: the checkpoint {gone} does not exist.'
    with pytest.raises(ConfigError) as e:
        check_load_from(
            Config(dict(load_from=gone)), 'c.py', {'load_from': gone})
    assert str(e.value) == (f"--cfg-options load_from='{gone}': the "
                            f'checkpoint {gone} does not exist.')
    with pytest.raises(ConfigError) as e:
        check_load_from(Config(dict(load_from=str(tmp_path))), 'c.py')
    assert str(e.value) == (f'c.py: load_from: the checkpoint {tmp_path} is '
                            'a folder, not a checkpoint file.')
