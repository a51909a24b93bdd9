# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check a config's dataloaders before the Runner builds them, so that a
mistake in one is named as a mistake of the config.

MMEngine's Runner builds its dataloaders lazily inside ``train()`` and
``test()``, after the work dir, its log and the model exist; a mistake in a
dataloader config ended the tools there with a traceback through the
Runner's loop. :func:`check_dataloaders` runs, for each dataloader a tool
will use:

1. :func:`~.pipelines.check_pipelines`: every transform is built;
2. :func:`check_loader_arguments`: each key of the dataloader config is one
   that ``Runner.build_dataloader`` or PyTorch's ``DataLoader`` takes
   (``batch_sise=16`` was ``TypeError: DataLoader.__init__() got an
   unexpected keyword argument``), the ``sampler`` it needs is there, and
   the sampler's and batch sampler's arguments are ones their classes take
   (``shufle=True``);
3. :func:`~.collate_check.check_collate_fn`: the ``collate_fn`` fits
   the samples the dataset gives (``repeat_pseudo_collate`` only with
   ``RepeatAugDataset``, and that dataset only with it);
4. :func:`~.video_clip_frames.check_clip_frames`: a frame sampler's
   ``clip_len`` is one the model's VideoMAE ViT takes;
5. :func:`~.dataset_check.check_datasets`: every dataset is built with
   ``lazy_init=True``, reading no annotation list, a local annotation
   file it names is checked to exist, and every line of a video or
   frame list is read (:func:`~.dataset_check.
   refuse_malformed_video_list`).

Each raises a :class:`~.config_error.ConfigError` naming the config (or the
``--cfg-options`` entry), the key and what was expected.
"""
import inspect
from typing import Dict, Optional, Sequence

from mmengine.config import Config
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import DataLoader

from .collate_check import check_collate_fn
from .config_error import ConfigError
from .config_place import mistake_place
from .dataset_check import check_datasets
from .pipelines import check_pipelines
from .registry_names import (close_hint, registered, registry_miss,
                             use_default_scope)
from .runner_type import mmengine_runner
from .unknown_keys import refuse_unknown_keys
from .video_clip_frames import check_clip_frames

__all__ = ['check_dataloaders', 'check_loader_arguments', 'LOADER_KEYS']

#: The keys of a dataloader config that MMEngine 0.10's
#: ``Runner.build_dataloader`` reads itself; it passes the rest to
#: PyTorch's ``DataLoader``.
RUNNER_LOADER_KEYS = ('dataset', 'sampler', 'batch_sampler', 'collate_fn',
                      'worker_init_fn', 'num_batch_per_epoch',
                      'disable_subprocess_warning')

#: Every key a dataloader config may have.
LOADER_KEYS = tuple(
    dict.fromkeys(RUNNER_LOADER_KEYS +
                  tuple(inspect.signature(DataLoader).parameters)))


def _check_sampler_arguments(sampler: dict, key: str, given: Sequence[str],
                             cfg: Config, source: str,
                             options: Optional[dict]) -> None:
    """Refuse an argument that a sampler class does not take; the Runner
    passes the arguments ``given`` itself (as defaults)."""
    kind = sampler.get('type')
    cls = registered(DATA_SAMPLERS, kind)
    if cls is None:
        try:
            DATA_SAMPLERS.build(dict(sampler))
        except KeyError as e:
            miss = registry_miss(e, cfg, source, options)
            if miss is not None:
                raise miss from e
        return
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # no signature to read: do not guess
        return
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return
    # What the Runner passes itself a config need not set.
    takes = [name for name in parameters if name not in given]
    name = getattr(cls, '__name__', kind)
    for argument in sampler:
        if argument in ('type', '_scope_') or argument in parameters:
            continue
        where = mistake_place(source, f'{key}.{argument}', options)
        raise ConfigError(
            f'{where}: {name} takes no argument {argument!r}'
            f'{close_hint(argument, takes)}. It takes: {", ".join(takes)}.')


def check_loader_arguments(cfg: Config,
                           source: str,
                           loaders: Sequence[str],
                           options: Optional[dict] = None) -> None:
    """Check the keys of each named dataloader config and the arguments of
    its sampler and batch sampler, in the current default scope.

    Args:
        cfg (Config): The config.
        source (str): The config file, for errors.
        loaders (Sequence[str]): e.g. ``('train_dataloader',
            'val_dataloader')``; one the config leaves unset, or that is
            no config dict, is skipped.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: For a dataloader config that is no dict, a key
            neither the Runner nor ``DataLoader`` takes (with the closest
            ones), a dataloader without ``dataset`` or ``sampler``, or a
            sampler argument its class does not take.
    """
    use_default_scope(cfg)
    if not mmengine_runner(cfg):
        return
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if loader_cfg is None or isinstance(loader_cfg, DataLoader):
            continue
        if not isinstance(loader_cfg, dict):
            comma = ' (a comma after its dict(...) makes a tuple)' if \
                isinstance(loader_cfg, tuple) else ''
            raise ConfigError(
                f'{source}: {loader} must be a dict such as dict('
                'batch_size=..., sampler=..., dataset=...), but it is a '
                f'{type(loader_cfg).__name__}{comma}.')
        refuse_unknown_keys(
            loader_cfg,
            loader,
            LOADER_KEYS,
            'dataloader argument',
            "PyTorch's DataLoader would refuse it after the Runner has made "
            'the work dir',
            source,
            options,
            takes="MMEngine's Runner and PyTorch's DataLoader take")
        for needed, example in (('dataset', "dict(type='VideoDataset', "
                                 '...)'), ('sampler',
                                           "dict(type='DefaultSampler', "
                                           'shuffle=True)')):
            if needed not in loader_cfg:
                raise ConfigError(
                    f'{source}: {loader} has no {needed}; MMEngine\'s Runner '
                    f'needs one, e.g. {needed}={example}.')
        for name, given in (('sampler', ('dataset', 'seed')),
                            ('batch_sampler', ('sampler', 'batch_size'))):
            if isinstance(loader_cfg.get(name), dict):
                _check_sampler_arguments(loader_cfg[name], f'{loader}.{name}',
                                         given, cfg, source, options)


def check_dataloaders(cfg: Config,
                      source: str,
                      loaders: Sequence[str],
                      options: Optional[dict] = None) -> Dict[str, object]:
    """Check the named dataloaders of ``cfg`` before a Runner is built: the
    transforms of their pipelines, their own and their samplers'
    arguments, then their datasets (see the module's docstring).

    Args:
        cfg (Config): The config.
        source (str): The config file, for errors.
        loaders (Sequence[str]): e.g. ``('train_dataloader',
            'val_dataloader')``; one the config leaves unset is skipped.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Returns:
        dict: ``{loader: dataset}``, the datasets built with
        ``lazy_init=True`` (:func:`~.dataset_check.check_datasets`), for
        the checks after this one to read.

    Raises:
        ConfigError: For the first mistake found.
    """
    check_pipelines(cfg, source, loaders, options)
    check_clip_frames(cfg, source, loaders, options)
    check_loader_arguments(cfg, source, loaders, options)
    check_collate_fn(cfg, source, loaders, options)
    return check_datasets(cfg, source, loaders, options)
