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
to ``lr_mult`` or ``decay_mult``, or close to an argument of the optimizer
without being one (``momentun=0.``, which SGD never reads from the group),
is refused. :func:`check_paramwise_cfg` names such a key with the closest
known ones, and the file and line that write it where that is a base of the
user's config. One that only an installed toolbox's config writes is a
warning: MMPretrain's Twins configs write ``paramwise_cfg=dict(_delete=True,
...)``, a misspelled ``_delete_`` that MMEngine keeps as a key and its
constructor ignores, so the base schedule's ``flat_decay_mult`` and
``custom_keys`` stay, as in MMPretrain's own runs of them, and refusing it
would stop every run of those configs for a line the user did not write.
Another constructor
(mmpretrain's layer-wise decay, mmaction2's TSM) reads other keys and is
not checked.
"""
import difflib
import logging
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import OPTIMIZERS

from .config_error import ConfigError
from .config_key_writer import key_writer
from .config_place import mistake_place, option_key
from .kept_delete import DELETE, kept_delete_error
from .registry_names import close_hint, registered, use_default_scope
from .unknown_keys import named_arguments, refuse_unknown_keys

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

#: The ``paramwise_cfg`` keys that MMEngine's default constructor refuses
#: (``ValueError: base_wd should not be None``) where the optimizer sets no
#: ``weight_decay``; a ``custom_keys`` entry's ``decay_mult`` too.
DECAY_MULTS = ('bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult')


def optimizer_arguments(optimizer) -> Tuple[str, Tuple[str, ...]]:
    """The name of the optimizer class that ``optim_wrapper.optimizer``
    builds in the current scope, and the arguments it takes by name
    (``params`` aside): the options it reads from each parameter group.
    ``('', ())`` if the class cannot be found."""
    kind = optimizer.get('type') if isinstance(optimizer, dict) else None
    cls = registered(OPTIMIZERS, kind) if kind is not None else None
    if not isinstance(cls, type):
        return '', ()
    return cls.__name__, tuple(
        name for name in named_arguments(cls) if name != 'params')


def _paramwise_hint(name: str) -> str:
    # MMEngine's merge consumes _delete_ and keeps any other name.
    if name.strip('_') == 'delete':
        return " (MMEngine's key that replaces the base config's dict is " \
            '_delete_)'
    return close_hint(name, PARAMWISE_KEYS)


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
        if name in PARAMWISE_KEYS:
            continue
        written = None if option_key(f'{key}.{name}', options) else \
            key_writer(source, f'{key}.{name}')
        if written is not None and written.installed:
            print_log(
                f'{written.place()} (inherited by {source}): {key}.{name}: '
                f'{name!r} is no paramwise_cfg key{_paramwise_hint(name)}; '
                f"MMEngine's {_DEFAULT} ignores it, as in the toolbox's own "
                'runs of that config, and applies the merged paramwise_cfg: '
                f'{", ".join(k for k in paramwise if k != name) or "none"}.',
                logger='current',
                level=logging.WARNING)
            continue
        where = source
        if written is not None and written.file != osp.abspath(source):
            where = f'{written.place()} (inherited by {source})'
        if name == DELETE:
            # The training check names it first; tools/test.py, which
            # builds no optimizer, checks paramwise_cfg all the same.
            raise kept_delete_error(where, key, options)
        refuse_unknown_keys({name: paramwise[name]},
                            key,
                            PARAMWISE_KEYS,
                            'paramwise_cfg key',
                            f"MMEngine's {_DEFAULT} would ignore it without "
                            'a word',
                            where,
                            options,
                            takes='It reads',
                            hint=_paramwise_hint)
    use_default_scope(cfg)
    _check_base_weight_decay(optim_wrapper, paramwise, source, options)
    custom_keys = paramwise.get('custom_keys')
    if not isinstance(custom_keys, dict):
        return  # MMEngine's constructor refuses it itself
    optimizer, arguments = optimizer_arguments(optim_wrapper.get('optimizer'))
    for pattern, entry in custom_keys.items():
        for name in entry if isinstance(entry, dict) else ():
            if name in CUSTOM_KEY_KEYS or name in arguments:
                continue
            place = mistake_place(source,
                                  f'{key}.custom_keys.{pattern}.{name}',
                                  options)
            fate = (f'MMEngine\'s {_DEFAULT} would put it in the parameter '
                    f'group of custom_keys[{pattern!r}] as it is')
            close = difflib.get_close_matches(
                name, CUSTOM_KEY_KEYS, n=1, cutoff=0.8)
            if close:
                raise ConfigError(
                    f'{place}: {name!r} is no multiplier (did you mean '
                    f'{close[0]!r}?); {fate} and apply no {close[0]}.')
            close = difflib.get_close_matches(name, arguments, n=1, cutoff=0.8)
            if close:
                raise ConfigError(
                    f'{place}: {name!r} is no argument of {optimizer} (did '
                    f'you mean {close[0]!r}?); {fate}, where {optimizer} '
                    f'would not read it. It takes: {", ".join(arguments)}.')


def _check_base_weight_decay(optim_wrapper: dict, paramwise: dict, source: str,
                             options: Optional[dict]) -> None:
    """Refuse a weight-decay multiplier where the optimizer sets no
    ``weight_decay``, which MMEngine's constructor stops on with a bare
    ``ValueError`` once the runner builds it (e.g. a stock config's AdamW
    replaced by ``dict(_delete_=True, type='SGD', lr=...)`` under its
    ``paramwise_cfg``). ``weight_decay=None`` sets none: MMEngine reads
    ``optimizer.get('weight_decay')``."""
    optimizer = optim_wrapper.get('optimizer')
    # MMEngine reads optimizer.get('weight_decay'): None is no decay set.
    if (not isinstance(optimizer, dict)
            or optimizer.get('weight_decay') is not None):
        return
    custom_keys = paramwise.get('custom_keys')
    keys = [
        f'optim_wrapper.paramwise_cfg.{name}' for name in DECAY_MULTS
        if name in paramwise
    ]
    keys += [
        f'optim_wrapper.paramwise_cfg.custom_keys[{pattern!r}].decay_mult'
        for pattern, entry in custom_keys.items()
        if isinstance(entry, dict) and 'decay_mult' in entry
    ] if isinstance(custom_keys, dict) else []
    if not keys:
        return
    name = optimizer_arguments(optimizer)[0] or optimizer.get('type')
    sets = ('sets weight_decay=None'
            if 'weight_decay' in optimizer else 'sets no weight_decay')
    raise ConfigError(
        f'{mistake_place(source, keys[0], options)} multiplies the weight '
        f'decay, but optim_wrapper.optimizer ({name}) {sets}: '
        f'MMEngine\'s {_DEFAULT} would stop with "ValueError: base_wd '
        'should not be None" when the runner builds it. Set '
        'optim_wrapper.optimizer.weight_decay (0. for none), or remove the '
        'multiplier.')
