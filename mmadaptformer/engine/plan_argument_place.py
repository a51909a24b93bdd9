# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Name where the AdapterHook argument that the trainable plan refuses was
set, for the tools that make the plan from a config without a Runner.

In a run, the AdapterHook names it (``--cfg-options
custom_hooks.0.extra_trainable=['nope']: AdapterHook extra_trainable
pattern 'nope' matches no parameter ...``); ``benchmark_infer.py`` and
``get_flops.py`` build the plan from the config
(:func:`~mmadaptformer.engine.adapter_checkpoint.build_model_and_plan`,
``plan_trainable``) and ended with the plan's bare ``PlanArgumentError``
line, or a usage error. ``train.py`` and ``test.py`` make the plan before
the Runner too (``check_adapter_hook_plan`` in
``engine/hooks/adapter_hook_config_check.py``), naming the hook's own
entry by its index.
"""
from contextlib import contextmanager
from typing import Iterator, Optional

from mmengine.config import Config

from mmadaptformer.models.adapters.trainable import PlanArgumentError
from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.config_place import ABSENT, mistake_place
from mmadaptformer.utils.hook_entries import hook_entries

__all__ = ['plan_argument_place', 'naming_plan_arguments']


def plan_argument_place(cfg: Config,
                        source: str,
                        options: Optional[dict],
                        error: PlanArgumentError,
                        index: Optional[int] = None) -> Optional[str]:
    """Where the AdapterHook argument that ``error`` refuses was set, as
    the hook names it in a run: the ``--cfg-options`` entry, else ``FILE:
    KEY = VALUE`` (``FILE: KEY`` for the hook's entry, where no single
    argument is at fault); None if the config has no AdapterHook.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file.
        options (dict, optional): The ``--cfg-options`` given.
        error (PlanArgumentError): The plan's refusal.
        index (int, optional): The hook's index in ``custom_hooks``.
            Defaults to None: the first AdapterHook's (or subclass's,
            :func:`~mmadaptformer.utils.hook_entries.hook_entries`).
    """
    if index is None:
        # By name: the hook's module imports this one.
        index = next((
            found.position
            for found in hook_entries(cfg, 'AdapterHook', ('custom_hooks', ))),
                     None)
    if index is None:
        return None
    key = f'custom_hooks[{index}]'
    if error.argument is None:
        return mistake_place(source, key, options)
    value = cfg.custom_hooks[index].get(error.argument, ABSENT)
    return mistake_place(source, f'{key}.{error.argument}', options, value)


@contextmanager
def naming_plan_arguments(cfg: Config,
                          source: str,
                          options: Optional[dict],
                          index: Optional[int] = None) -> Iterator[None]:
    """Lead a :class:`PlanArgumentError` raised inside with
    :func:`plan_argument_place` (a :class:`ConfigError`, chained to it).

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file.
        options (dict, optional): The ``--cfg-options`` given.
        index (int, optional): The index in ``custom_hooks`` of the
            AdapterHook whose plan is made. Defaults to None: the first
            AdapterHook's.
    """
    try:
        yield
    except PlanArgumentError as e:
        where = plan_argument_place(cfg, source, options, e, index)
        if where is None:
            raise
        raise ConfigError(f'{where}: {e}') from e
