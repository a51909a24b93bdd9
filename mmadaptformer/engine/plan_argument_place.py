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
entry by its place (``custom_hooks[N]`` or ``default_hooks.NAME``).
"""
from contextlib import contextmanager
from typing import Iterator, Optional, Union

from mmengine.config import Config

from mmadaptformer.models.adapters.trainable import PlanArgumentError
from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.config_place import ABSENT, mistake_place
from mmadaptformer.utils.hook_entries import hook_entries

__all__ = ['plan_argument_place', 'naming_plan_arguments']


def plan_argument_place(
        cfg: Config,
        source: str,
        options: Optional[dict],
        error: PlanArgumentError,
        position: Optional[Union[int, str]] = None) -> Optional[str]:
    """Where the AdapterHook argument that ``error`` refuses was set, as
    the hook names it in a run: the ``--cfg-options`` entry, else ``FILE:
    KEY = VALUE`` (``FILE: KEY`` for the hook's entry, where no single
    argument is at fault); None if the config has no AdapterHook there.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file.
        options (dict, optional): The ``--cfg-options`` given.
        error (PlanArgumentError): The plan's refusal.
        position (int | str, optional): The hook's place, as
            :class:`~mmadaptformer.utils.hook_entries.HookEntry` gives it:
            its index in ``custom_hooks``, or its name in
            ``default_hooks``. Defaults to None: the first AdapterHook's
            (or subclass's, in either list, by
            :func:`~mmadaptformer.utils.hook_entries.hook_entries`).
    """
    # By name: the hook's module imports this one.
    found = next((entry for entry in hook_entries(cfg, 'AdapterHook')
                  if position is None or entry.position == position), None)
    if found is None:
        return None
    if error.argument is None:
        return mistake_place(source, found.key, options)
    value = found.entry.get(error.argument, ABSENT)
    return mistake_place(source, f'{found.key}.{error.argument}', options,
                         value)


@contextmanager
def naming_plan_arguments(
        cfg: Config,
        source: str,
        options: Optional[dict],
        position: Optional[Union[int, str]] = None) -> Iterator[None]:
    """Lead a :class:`PlanArgumentError` raised inside with
    :func:`plan_argument_place` (a :class:`ConfigError`, chained to it).

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file.
        options (dict, optional): The ``--cfg-options`` given.
        position (int | str, optional): The place of the AdapterHook
            whose plan is made: its index in ``custom_hooks`` or its name in
            ``default_hooks``. Defaults to None: the first AdapterHook's.
    """
    try:
        yield
    except PlanArgumentError as e:
        where = plan_argument_place(cfg, source, options, e, position)
        if where is None:
            raise
        raise ConfigError(f'{where}: {e}') from e
