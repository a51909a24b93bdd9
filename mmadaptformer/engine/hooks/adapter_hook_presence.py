# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse to train a frozen-host wrapper that no ``AdapterHook`` freezes."""
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.registry import HOOKS
from torch import nn

from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.models.backbones.config_host import build_without_weights
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_place import option_place
from mmadaptformer.utils.hook_entries import hook_entries, section_entries
from mmadaptformer.utils.model_unwrap import unwrapped_model
from mmadaptformer.utils.quiet_build import quiet_build_log
from mmadaptformer.utils.registry_names import registered
from .adapter_hook import AdapterHook

__all__ = [
    'refuse_wrapper_without_adapter_hook', 'check_adapter_hook_presence',
    'allow_trained_hosts'
]


def _first_wrapper(model) -> Optional[Tuple[str, str]]:
    """The config key and class name of the first frozen-host wrapper in
    ``model``."""
    for name, module in model.named_modules():
        if isinstance(module, FrozenHostWrapper):
            return f'model.{name}' if name else 'model', type(module).__name__
    return None


def _missing_hook_why(key: str, wrapper: str) -> str:
    """Why a model with ``wrapper`` at ``key`` and no AdapterHook is refused,
    and the two ways out."""
    return (
        f'{key} is {wrapper}, but no AdapterHook is in custom_hooks or '
        'default_hooks: nothing would freeze the backbone, which would '
        'train with the adapters, and checkpoints would hold the whole '
        "model. A config's custom_hooks replaces its base's list (MMEngine "
        "merges dicts, not lists); add the hook back, with the recipe's "
        'arguments if you inherit one, e.g. custom_hooks = '
        "[dict(type='AdapterHook', adapter_only_checkpoint=True), ...], or "
        "set default_hooks.config_check = dict(type='ConfigCheckHook', "
        'allow_trained_host=True) to train the whole model.')


def _allows_trained_host(cfg: Config) -> bool:
    """Whether the config's ``ConfigCheckHook`` (``default_hooks.
    config_check``) opts out with ``allow_trained_host=True``."""
    hooks = cfg.get('default_hooks')
    check = hooks.get('config_check') if isinstance(hooks, dict) else None
    return isinstance(check, dict) and bool(
        check.get('allow_trained_host', False))


def check_adapter_hook_presence(cfg: Config,
                                source: str,
                                options: Optional[dict] = None,
                                model: Optional[nn.Module] = None) -> None:
    """Before training, refuse a config whose model has AdaptFormer or VPT
    but whose hooks hold no ``AdapterHook`` (or subclass,
    :func:`~.hook_entries.hook_entries`).

    :class:`~.config_check_hook.ConfigCheckHook` refuses such a run at
    ``before_train``, after the Runner made the work dir, and only where
    the config lists it in ``default_hooks``: a config written from the
    README's diff without its ``default_hooks`` lines trained the whole
    backbone and saved it whole, without a word. This check reads the
    config alone, so it needs no such hook; the opt-out is the same,
    ``default_hooks.config_check.allow_trained_host=True``.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        model (nn.Module, optional): The config's model built without
            weights, as :func:`~mmadaptformer.models.check_model_config`
            returns it. Defaults to None: built here if needed.

    Raises:
        ConfigError: ``FILE: model.backbone is AdaptFormer, but no
            AdapterHook is in custom_hooks or default_hooks: ...`` (the
            ``--cfg-options`` entry instead of the file where one set
            ``custom_hooks``).
    """
    model_cfg = cfg.get('model')
    if _allows_trained_host(cfg) or not isinstance(
            model_cfg, dict) or 'type' not in model_cfg:
        return
    if hook_entries(cfg, AdapterHook):
        return
    for _, _, hook in section_entries(cfg):
        if isinstance(hook, dict) and 'type' in hook and registered(
                HOOKS, hook['type'], hook.get('_scope_')) is None:
            return  # an unknown type: the registry's check names it
    if model is None:
        with quiet_build_log():
            model = build_without_weights(model_cfg)
    found = None if model is None else _first_wrapper(unwrapped_model(model))
    if found is None:
        return
    place = option_place('custom_hooks', options) or source
    raise ConfigError(f'{place}: {_missing_hook_why(*found)}')


def refuse_wrapper_without_adapter_hook(runner) -> None:
    """Stop a run whose model has AdaptFormer or VPT but no AdapterHook.

    The wrappers freeze nothing themselves: the ``AdapterHook`` does, and
    it saves the adapter-only checkpoints. MMEngine merges a config's
    dicts with its base's but replaces lists, so a config that inherits a
    recipe and writes ``custom_hooks = [dict(type='EMAHook')]`` (or
    ``--cfg-options custom_hooks=[]``) dropped the recipe's AdapterHook:
    the "frozen" backbone trained with the adapters and every checkpoint
    held the whole model, without a word.

    Raises:
        ConfigError: Naming the wrapper's config key, the hook sections
            read and the line to add back.
    """
    if any(isinstance(hook, AdapterHook) for hook in runner.hooks):
        return
    found = _first_wrapper(unwrapped_model(runner.model))
    if found is None:
        return
    key, wrapper = found
    raise ConfigError(_missing_hook_why(key, wrapper))


def allow_trained_hosts(runner) -> None:
    """Let the frozen-host wrappers of the runner's model train their
    hosts without a trainable plan (full fine-tuning, chosen with
    ``ConfigCheckHook(allow_trained_host=True)``): otherwise their first
    backward refuses it
    (:mod:`~mmadaptformer.models.backbones.host_grad_guard`).

    Args:
        runner (Runner): The runner.
    """
    for module in unwrapped_model(runner.model).modules():
        if isinstance(module, FrozenHostWrapper):
            module.allow_trained_host = True
