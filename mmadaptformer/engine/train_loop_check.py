# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the loops' configs (``train_cfg``, ``val_cfg``, ``test_cfg``)
before the Runner builds them.

MMEngine's ``EpochBasedTrainLoop`` / ``IterBasedTrainLoop`` take
``val_interval`` as given and compute ``epoch % val_interval`` after each
epoch: ``--cfg-options train_cfg.val_interval=0`` (meant as "no
validation") ended the run with ``ZeroDivisionError: integer modulo by
zero`` after a whole training epoch, naming no key.

A loop config without a ``type`` (MMPretrain's and the tiny configs'
``train_cfg = dict(by_epoch=True, max_epochs=2)``, ``val_cfg = dict()``)
is passed by the Runner as keyword arguments to the loop it picks, once
the model is built and its weights loaded: a misspelled key
(``train_cfg.max_epoch=1``, ``test_cfg.fp61=True``) ended the run with
``TypeError: EpochBasedTrainLoop.__init__() got an unexpected keyword
argument 'max_epoch'``, naming neither the file nor the key.
:func:`check_loop_keys` names it first. A loop with a ``type`` is built
from its registry, whose errors the tools already name by key
(:func:`~mmadaptformer.utils.config_mistakes.argument_miss`).
"""
import numbers
from typing import Optional, Sequence

from mmengine.config import Config
from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop,
                             ValLoop)

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_place import mistake_place
from mmadaptformer.utils.runner_type import mmengine_runner
from mmadaptformer.utils.unknown_keys import (named_arguments,
                                              refuse_unknown_keys)

__all__ = ['check_train_loop', 'check_loop_keys']

#: What MMEngine 0.10's Runner passes to a loop itself, beside the config's
#: keys.
_GIVEN_BY_RUNNER = ('runner', 'dataloader', 'evaluator')

#: The ``train_cfg`` keys that must be whole numbers > 0, with what they
#: count.
_POSITIVE = dict(
    max_epochs='epochs to train',
    max_iters='iterations to train',
    val_interval='epochs (iterations for an iteration-based loop) between '
    'validations')


def _untyped_loop(key: str, loop: dict) -> type:
    """The loop class MMEngine's Runner builds from the loop config
    ``key`` without a ``type`` (``build_train_loop`` picks by
    ``by_epoch``)."""
    if key == 'train_cfg':
        return EpochBasedTrainLoop if loop.get('by_epoch', True) \
            else IterBasedTrainLoop
    return ValLoop if key == 'val_cfg' else TestLoop


def check_loop_keys(
    cfg: Config,
    source: str,
    options: Optional[dict],
    keys: Sequence[str] = ('train_cfg', 'val_cfg')
) -> None:
    """Refuse a key of a loop config without a ``type`` that the loop the
    Runner builds from it does not take (for MMEngine's runners only:
    another ``runner_type`` may build its loops otherwise).

    Args:
        cfg (Config): The run's config.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given.
        keys (Sequence[str]): The loop configs the tool's Runner builds.
            Defaults to ``('train_cfg', 'val_cfg')``.

    Raises:
        ConfigError: Naming the key, where it was set, the closest keys
            and what the loop takes.
    """
    if not mmengine_runner(cfg):
        return
    for key in keys:
        loop = cfg.get(key, None)
        if not isinstance(loop, dict) or 'type' in loop:
            continue
        cls = _untyped_loop(key, loop)
        takes = [
            name for name in named_arguments(cls)
            if name not in _GIVEN_BY_RUNNER
        ]
        if key == 'train_cfg':
            # The Runner reads it to pick the loop.
            takes.insert(0, 'by_epoch')
        refuse_unknown_keys(
            loop, key, takes, f'{key} key',
            f'MMEngine\'s Runner builds {cls.__name__} from {key} (it names '
            'no type) and would fail on it once the model is built', source,
            options)


def check_train_loop(cfg: Config, source: str,
                     options: Optional[dict]) -> None:
    """Refuse a key of ``train_cfg`` or ``val_cfg`` that their loops do not
    take (:func:`check_loop_keys`), and a ``train_cfg`` number that the
    training loop would fail on (or loop on) after it started.

    Args:
        cfg (Config): The run's config.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given.

    Raises:
        ConfigError: Naming the key, where it was set, its value and what
            is expected; for ``val_interval``, how to switch validation
            off.
    """
    check_loop_keys(cfg, source, options)
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
