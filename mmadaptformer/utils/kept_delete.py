# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Name a ``_delete_=True`` that MMEngine kept as a key of the config.

``_delete_=True`` in a config dict tells MMEngine's merge to replace the
value a base config gives that key instead of merging into it. Where no
base config gives the key one (a config without ``_base_``, a key the base
leaves out, a ``--cfg-options`` entry under a key the config does not
set), nothing consumes it: MMEngine keeps ``_delete_`` in the dict as one
more setting, and the class built from it stopped with ``TypeError: ...
got an unexpected keyword argument '_delete_'``, once the Runner had made
the work dir; a pretrained ``init_cfg`` failed only when the weights were
loaded, through the inference APIs as ``PretrainedLoadError ... TypeError``.
:func:`refuse_kept_delete` names the key and what to remove before
anything is built; :func:`kept_delete_error` words the same refusal for
the ``TypeError`` itself, where a path builds without the check.
"""
import inspect
from typing import Iterable, Iterator, Optional, Tuple

from mmengine.config import Config
from mmengine.runner import Runner

from .config_error import ConfigError
from .config_place import mistake_place
from .registry_names import config_dicts

__all__ = [
    'DELETE', 'RUNNER_KEYS', 'TESTING_KEYS', 'TRAINING_KEYS',
    'kept_delete_error', 'kept_delete_keys', 'refuse_kept_delete'
]

#: MMEngine's merge key that replaces a base value instead of merging into
#: it; kept as a key where no base config sets the one it is under.
DELETE = '_delete_'

#: The keys MMEngine's Runner is built from (its arguments, and the model
#: wrapper it reads from the config itself). A config may set others as
#: plain variables that nothing builds: mmaction2's Kinetics-710 recipes
#: write ``k710_trainset = dict(type='ConcatDataset', ..., _delete_=True)``
#: for the ``train_dataloader.dataset`` whose base it replaces; the copy
#: there is merged, the variable keeps ``_delete_`` and is never read.
RUNNER_KEYS: Tuple[str, ...] = tuple(
    name for name in inspect.signature(Runner.__init__).parameters
    if name not in ('self', 'cfg')) + ('model_wrapper_cfg', )

#: Those of :data:`RUNNER_KEYS` that only training and validation build.
TRAINING_KEYS = ('train_dataloader', 'train_cfg', 'val_dataloader', 'val_cfg',
                 'val_evaluator', 'optim_wrapper', 'param_scheduler',
                 'auto_scale_lr')

#: Those that testing builds (``tools/test.py``).
TESTING_KEYS = tuple(key for key in RUNNER_KEYS if key not in TRAINING_KEYS)


def kept_delete_keys(node, prefix: str = '') -> Iterator[str]:
    """The key of every dict in ``node`` (a config or a part of it) that
    holds :data:`DELETE`, outer before inner (``model.backbone.init_cfg``,
    ``param_scheduler[0]``; :func:`~.registry_names.config_dicts`)."""
    return (key for key, value in config_dicts(node, prefix)
            if DELETE in value)


def kept_delete_error(source: Optional[str],
                      key: str,
                      options: Optional[dict] = None,
                      builder: str = '') -> ConfigError:
    """The refusal of a :data:`DELETE` that MMEngine kept in the dict at
    ``key``.

    Args:
        source (str, optional): The config file, for the message; None
            where the caller has the built model only.
        key (str): The dict's key (``model.backbone.init_cfg``).
        options (dict, optional): The ``--cfg-options`` given, which may be
            where ``_delete_`` came from. Defaults to None.
        builder (str): What refused it as an argument
            (``'Pretrained (through PretrainedInit.__init__)'``), if it was
            built. Defaults to ``''``.

    Returns:
        ConfigError: Naming the file or option, the key and what to remove.
    """
    where = (
        mistake_place(source, f'{key}.{DELETE}', options)
        if source else f'{key}.{DELETE}')
    refused = (f', and {builder} takes no argument {DELETE!r}'
               if builder else '')
    return ConfigError(
        f'{where}: {DELETE}=True replaces the value that a base config '
        f'gives {key}, but none gives it one: MMEngine then keeps {DELETE} '
        f'as a key{refused}. Remove {DELETE}=True from {key}.')


def refuse_kept_delete(cfg: Config,
                       source: str,
                       options: Optional[dict] = None,
                       keys: Optional[Iterable[str]] = None) -> None:
    """Refuse the first :data:`DELETE` that MMEngine kept in ``cfg``.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for the message.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        keys (Iterable[str], optional): The top-level keys the caller
            builds from (the inference APIs: the model and the test
            pipeline). Defaults to :data:`RUNNER_KEYS`.

    Raises:
        ConfigError: :func:`kept_delete_error`'s, for the outermost such
            dict of the first key that holds one.
    """
    for top in RUNNER_KEYS if keys is None else keys:
        for key in kept_delete_keys(cfg.get(top), top):
            raise kept_delete_error(source, key, options)
