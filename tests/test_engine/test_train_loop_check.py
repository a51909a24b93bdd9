# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`~mmadaptformer.engine.train_loop_check.check_train_loop` refuses
every ``train_cfg`` number that is not a whole number > 0, not only 0."""
import pytest
from mmengine.config import Config

from mmadaptformer.engine.train_loop_check import check_train_loop
from mmadaptformer.utils import ConfigError


@pytest.mark.parametrize('key, value', [('val_interval', 2.5),
                                        ('max_epochs', 1.5),
                                        ('max_epochs', True)])
def test_a_fraction_or_a_bool_is_refused_by_key(key, value):
    """Guards a check that accepts any real number > 0 (``numbers.Real``)
    or a bool: ``val_interval=2.5`` validates at epochs 5, 10... and
    ``max_epochs=1.5`` fails in MMEngine's loop, not here."""
    loop = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1)
    loop[key] = value
    with pytest.raises(ConfigError) as info:
        check_train_loop(Config(dict(train_cfg=loop)), 'cfg.py', None)
    message = str(info.value)
    assert f'train_cfg.{key}' in message and repr(value) in message, message
    assert 'expected a whole number > 0' in message, message


def test_whole_numbers_pass():
    """Guard of kept behaviour: whole numbers > 0 are accepted."""
    loop = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=2)
    check_train_loop(Config(dict(train_cfg=loop)), 'cfg.py', None)
