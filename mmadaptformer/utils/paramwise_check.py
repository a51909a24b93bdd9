# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check ``optim_wrapper.paramwise_cfg`` for keys MMEngine's default
constructor would ignore.

MMEngine's ``DefaultOptimWrapperConstructor`` reads the ``paramwise_cfg``
keys it knows with ``paramwise_cfg.get(...)``, so a misspelled one
(``norm_decay_mul=0.``) was ignored without a word, and the run trained
with weight decay on its norms. In a ``custom_keys`` entry it reads
``lr_mult`` and ``decay_mult`` and copies every other key into the
parameter group as it is, so ``custom_keys=dict(head=dict(lr_mul=10.))``
trained the head at the base lr. Other keys of an entry are legitimate
(an optimizer's own options, or keys an optimizer or hook reads from the
group: LARS's ``lars_exclude``, SimSiam's ``fix_lr``), so only a key close
to ``lr_mult`` or ``decay_mult`` is refused. :func:`check_paramwise_cfg`
names such a key with the closest known ones. Another constructor
(mmpretrain's layer-wise decay, mmaction2's TSM) reads other keys and is
not checked.
"""
import difflib
from typing import Optional

from mmengine.config import Config

from .config_error import ConfigError
from .config_file import close_hint, mistake_place

__all__ = ['check_paramwise_cfg', 'PARAMWISE_KEYS', 'CUSTOM_KEY_KEYS']

#: The ``paramwise_cfg`` keys MMEngine 0.10's
#: ``DefaultOptimWrapperConstructor`` reads.
PARAMWISE_KEYS = ('custom_keys', 'bias_lr_mult', 'bias_decay_mult',
                  'norm_decay_mult', 'dwconv_decay_mult', 'flat_decay_mult',
                  'bypass_duplicate', 'dcn_offset_lr_mult')

#: What it reads from a ``custom_keys`` entry itself; the entry's other keys
#: become options of the parameter group.
CUSTOM_KEY_KEYS = ('lr_mult', 'decay_mult')

_DEFAULT = 'DefaultOptimWrapperConstructor'


def check_paramwise_cfg(cfg: Config,
                        source: str,
                        options: Optional[dict] = None) -> None:
    """Check the keys of ``optim_wrapper.paramwise_cfg``, and the
    multipliers of each of its ``custom_keys`` entries.

    Args:
        cfg (Config): The config; one without ``paramwise_cfg``, with
            several optimizers or with a constructor other than MMEngine's
            default is not checked.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the config (or the ``--cfg-options`` entry), the
            key and the closest known keys, for a ``paramwise_cfg`` key the
            constructor does not read or a ``custom_keys`` key that is a
            misspelled multiplier.
    """
    optim_wrapper = cfg.get('optim_wrapper')
    if not isinstance(optim_wrapper, dict) or (optim_wrapper.get(
            'constructor', _DEFAULT) != _DEFAULT):
        return
    paramwise = optim_wrapper.get('paramwise_cfg')
    if not isinstance(paramwise, dict):
        return
    key = 'optim_wrapper.paramwise_cfg'
    for name in paramwise:
        if name not in PARAMWISE_KEYS:
            # MMEngine's merge consumes _delete_ and keeps any other name.
            hint = " (MMEngine's key that replaces the base config's dict " \
                'is _delete_)' if name.strip('_') == 'delete' else \
                close_hint(name, PARAMWISE_KEYS)
            raise ConfigError(
                f'{mistake_place(source, f"{key}.{name}", options)}: '
                f'{name!r} is no paramwise_cfg key{hint}; MMEngine\'s '
                f'{_DEFAULT} would ignore it without a word. It reads: '
                f'{", ".join(PARAMWISE_KEYS)}.')
    custom_keys = paramwise.get('custom_keys')
    # Not a dict: MMEngine's constructor refuses it itself.
    for pattern, entry in (custom_keys
                           if isinstance(custom_keys, dict) else {}).items():
        for name in entry if isinstance(entry, dict) else ():
            close = difflib.get_close_matches(
                name, CUSTOM_KEY_KEYS, n=1, cutoff=0.8)
            if name in CUSTOM_KEY_KEYS or not close:
                continue
            place = mistake_place(source,
                                  f'{key}.custom_keys.{pattern}.{name}',
                                  options)
            raise ConfigError(
                f'{place}: {name!r} is no multiplier (did you mean '
                f'{close[0]!r}?); MMEngine\'s {_DEFAULT} would put it in '
                f'the parameter group of custom_keys[{pattern!r}] as it is '
                f'and apply no {close[0]}.')
