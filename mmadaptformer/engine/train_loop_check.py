# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the numbers of ``train_cfg`` before training starts.

MMEngine's ``EpochBasedTrainLoop`` / ``IterBasedTrainLoop`` take
``val_interval`` as given and compute ``epoch % val_interval`` after each
epoch: ``--cfg-options train_cfg.val_interval=0`` (meant as "no
validation") ended the run with ``ZeroDivisionError: integer modulo by
zero`` after a whole training epoch, naming no key.
"""
import numbers
from typing import Optional

from mmengine.config import Config

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_place import mistake_place

__all__ = ['check_train_loop']

#: The ``train_cfg`` keys that must be whole numbers > 0, with what they
#: count.
_POSITIVE = dict(
    max_epochs='epochs to train',
    max_iters='iterations to train',
    val_interval='epochs (iterations for an iteration-based loop) between '
    'validations')


def check_train_loop(cfg: Config, source: str,
                     options: Optional[dict]) -> None:
    """Refuse a ``train_cfg`` number that the training loop would fail on
    (or loop on) after it started.

    Args:
        cfg (Config): The run's config.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given.

    Raises:
        ConfigError: Naming the key, where it was set, its value and what
            is expected; for ``val_interval``, how to switch validation
            off.
    """
    train_cfg = cfg.get('train_cfg', None)
    if not isinstance(train_cfg, dict):
        return
    for key, counts in _POSITIVE.items():
        if key not in train_cfg:
            continue
        value = train_cfg[key]
        if isinstance(value, numbers.Integral) and \
                not isinstance(value, bool) and value > 0:
            continue
        hint = ''
        if key == 'val_interval':
            hint = (' To train without validation, run tools/train.py '
                    'with --no-validate (or set val_cfg, val_dataloader '
                    'and val_evaluator to None).')
        place = mistake_place(source, f'train_cfg.{key}', options, value)
        raise ConfigError(
            f'{place}: expected a whole number > 0 of {counts}.{hint}')
