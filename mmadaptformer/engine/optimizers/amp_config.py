# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which mixed-precision wrapper a training config gets from
``tools/train.py``: ``--amp``, and what a machine without a GPU refuses.

MMEngine's ``AmpOptimWrapper`` keeps its name and its class, as in
MMAction2's and MMPretrain's tools; ``--amp`` writes the recipes'
:class:`~.AdaptAmpOptimWrapper` in its place, and on CUDA a config that
names MMEngine's gets a warning that names ours. The refusals and the
warning name where ``optim_wrapper.type`` was set: the config file, or the
``--cfg-options`` entry (:mod:`~mmadaptformer.utils.config_place`).
"""
from typing import Optional

from mmengine.config import Config
from mmengine.device import (is_cuda_available, is_mlu_available,
                             is_musa_available, is_npu_available)
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from ...utils import ConfigError
from ...utils.config_place import given_cfg_options, option_key, option_place
from ...utils.registry_names import registered
from .amp_optim_wrapper import AdaptAmpOptimWrapper, CPUAmpOptimWrapper

__all__ = [
    'AMP_ACCEPTS', 'apply_amp_flag', 'mmengine_amp_wrapper_warning',
    'optim_wrapper_class', 'refuse_amp_without_accelerator',
    'refuse_cpu_bf16_for_mmengine_wrapper'
]

_ACCEPTED_CLASSES = (OptimWrapper, AmpOptimWrapper, AdaptAmpOptimWrapper,
                     CPUAmpOptimWrapper)
#: The optimizer wrapper types ``--amp`` replaces with the recipes'
#: ``AdaptAmpOptimWrapper``, by the class their name builds: a scoped name
#: such as ``'mmengine.AmpOptimWrapper'`` counts as the class it builds.
AMP_ACCEPTS = tuple(cls.__name__ for cls in _ACCEPTED_CLASSES)


def _wrapper(cfg: Config) -> dict:
    """``cfg.optim_wrapper``; empty where it is not a dict (None, or a
    mistake that MMEngine's Runner names when it builds it)."""
    wrapper = cfg.get('optim_wrapper', None)
    return wrapper if isinstance(wrapper, dict) else {}


def _wrapper_scope(cfg: Config) -> Optional[str]:
    """The scope the Runner builds ``cfg.optim_wrapper`` in: its
    ``_scope_``, else the config's ``default_scope``."""
    return _wrapper(cfg).get('_scope_', cfg.get('default_scope', None))


def _given(options: Optional[dict]) -> Optional[dict]:
    """``options``, or where None, the ``--cfg-options`` of the tool run in
    progress (:func:`~mmadaptformer.utils.config_place.given_cfg_options`;
    None outside one)."""
    return given_cfg_options() if options is None else options


def _type_place(cfg: Config, config_file: str, options: Optional[dict]) -> str:
    """Where ``optim_wrapper.type`` was set, to lead a refusal: the
    ``--cfg-options`` entry that set it (``--cfg-options
    optim_wrapper.type='X'``, or ``optim_wrapper.type = 'X', set by
    --cfg-options optim_wrapper={...}``), else ``FILE:
    optim_wrapper.type='X'``."""
    wrapper_type = _wrapper(cfg).get('type')
    return option_place('optim_wrapper.type', options, wrapper_type) or \
        f'{config_file}: optim_wrapper.type={wrapper_type!r}'


def _cpu_bf16_option(cfg: Config, options: Optional[dict]) -> str:
    """`` (with --cfg-options optim_wrapper.cpu_bf16=...)`` where an entry
    other than the one that set ``optim_wrapper.type`` set
    ``optim_wrapper.cpu_bf16``; ``''`` otherwise."""
    wrapper = _wrapper(cfg)
    given = option_key('optim_wrapper.cpu_bf16', options)
    if 'cpu_bf16' not in wrapper or given is None or \
            given == option_key('optim_wrapper.type', options):
        return ''
    place = option_place('optim_wrapper.cpu_bf16', options,
                         wrapper['cpu_bf16'])
    return f' (with {place})'


def optim_wrapper_class(cfg: Config) -> Optional[type]:
    """The class the Runner builds for ``cfg.optim_wrapper``, looked up as
    MMEngine's ``OPTIM_WRAPPERS.build`` does: in the registry of the
    wrapper's ``_scope_`` or the config's ``default_scope``, a scoped name
    (``'mmengine.AmpOptimWrapper'``) in the registry of its scope.

    Args:
        cfg (Config): The training config.

    Returns:
        type, optional: The class; None where the name builds nothing (the
        Runner's build would fail with a KeyError), or ``optim_wrapper`` is
        neither a dict nor None (a TypeError).
    """
    if not isinstance(cfg.get('optim_wrapper', None), (dict, type(None))):
        return None
    return registered(OPTIM_WRAPPERS,
                      _wrapper(cfg).get('type', 'OptimWrapper'),
                      _wrapper_scope(cfg))


def apply_amp_flag(cfg: Config, config_file: str) -> None:
    """What ``tools/train.py --amp`` does to ``cfg.optim_wrapper``: the
    recipes' ``AdaptAmpOptimWrapper``, told to autocast to bfloat16 where
    the model runs on the CPU, with dynamic loss scaling unless set.

    Args:
        cfg (Config): The training config; changed in place.
        config_file (str): Its file, for the message.

    Raises:
        ConfigError: If ``optim_wrapper`` is not a dict, or its ``type``
            builds none of the classes of :data:`AMP_ACCEPTS`, or nothing.
    """
    wrapper = cfg.get('optim_wrapper', None)
    if not isinstance(wrapper, dict):
        raise ConfigError(
            f'{config_file}: --amp sets optim_wrapper.type, but '
            f'optim_wrapper is {wrapper!r}, not a dict; give it one, e.g. '
            "optim_wrapper = dict(type='OptimWrapper', optimizer=dict("
            "type='SGD', lr=0.01)).")
    optim_wrapper = wrapper.get('type', 'OptimWrapper')
    built = optim_wrapper_class(cfg)
    if built is None:
        raise ConfigError(
            f'{config_file}: optim_wrapper.type={optim_wrapper!r} names no '
            f'optimizer wrapper registered in scope {_wrapper_scope(cfg)!r}'
            '; --amp takes one of '
            f'{", ".join(AMP_ACCEPTS)}.')
    if built not in _ACCEPTED_CLASSES:
        raise ConfigError(
            f'--amp is not supported with the custom optimizer wrapper '
            f'type {optim_wrapper!r} set in optim_wrapper.type of '
            f'{config_file}; use one of {", ".join(AMP_ACCEPTS)}.')
    # The recipes' own wrapper, so that --amp on a GPU trains as they do;
    # on a CPU it autocasts to bfloat16, which MMEngine's AmpOptimWrapper
    # cannot.
    cfg.optim_wrapper.type = 'AdaptAmpOptimWrapper'
    cfg.optim_wrapper.cpu_bf16 = True
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def refuse_amp_without_accelerator(cfg: Config,
                                   config_file: str,
                                   options: Optional[dict] = None) -> None:
    """Refuse, before anything is built, a config that trains in mixed
    precision on a GPU (NPU, MLU, MUSA) when this machine has none.

    That is MMEngine's ``AmpOptimWrapper``, whose assertion comes from deep
    in the Runner, and ours without ``cpu_bf16`` (``--amp`` sets it), which
    would refuse the CPU only once the Runner builds it.

    Args:
        cfg (Config): The training config, after ``--amp`` and
            ``--cfg-options``.
        config_file (str): Its file, for the message.
        options (dict, optional): The ``--cfg-options`` given; None for
            those of the tool run in progress, if any. Defaults to None.

    Raises:
        ConfigError: The same message for both, naming where
            ``optim_wrapper.type`` was set (the file, or the
            ``--cfg-options`` entry), ``--amp`` and float32 training.
    """
    wrapper = _wrapper(cfg)
    built = optim_wrapper_class(cfg)
    if built is AmpOptimWrapper:
        refused = True
    elif built in (AdaptAmpOptimWrapper, CPUAmpOptimWrapper):
        # The second class trains on the CPU unless told otherwise.
        default = built is CPUAmpOptimWrapper
        refused = not wrapper.get('cpu_bf16', default)
    else:
        refused = False
    if not refused or any(
            available()
            for available in (is_cuda_available, is_npu_available,
                              is_mlu_available, is_musa_available)):
        return
    options = _given(options)
    raise ConfigError(
        f'{_type_place(cfg, config_file, options)}'
        f'{_cpu_bf16_option(cfg, options)} trains in mixed precision on a '
        'GPU, and this machine has none. Add --amp to train with bfloat16 '
        'autocast on the CPU (it sets optim_wrapper.type='
        "'AdaptAmpOptimWrapper' and optim_wrapper.cpu_bf16=True, before "
        '--cfg-options), or --cfg-options optim_wrapper.type=OptimWrapper '
        'to train in float32.')


def mmengine_amp_wrapper_warning(
        cfg: Config,
        config_file: str,
        options: Optional[dict] = None) -> Optional[str]:
    """The warning for a config that names MMEngine's ``AmpOptimWrapper``
    and trains on CUDA, where that wrapper calls what torch 2 deprecates.

    The name keeps meaning MMEngine's class, as in MMAction2's and
    MMPretrain's tools: the warning names the wrapper to write instead.

    Args:
        cfg (Config): The training config, after ``--amp`` and
            ``--cfg-options``.
        config_file (str): Its file, for the message.
        options (dict, optional): The ``--cfg-options`` given; None for
            those of the tool run in progress, if any. Defaults to None.

    Returns:
        str, optional: The warning; None for any other wrapper, or without
        CUDA.
    """
    if (optim_wrapper_class(cfg) is not AmpOptimWrapper
            or not is_cuda_available()):
        return None
    return (f'{_type_place(cfg, config_file, _given(options))} is '
            "MMEngine's wrapper, which on CUDA calls what torch 2 deprecates "
            '(torch.cuda.amp.GradScaler, torch.get_autocast_gpu_dtype) and '
            "with dtype='bfloat16' fails in mmaction2's heads. Name "
            "'AdaptAmpOptimWrapper' (the same arguments; the recipes' "
            'wrapper) or add --amp to train through it.')


def refuse_cpu_bf16_for_mmengine_wrapper(cfg: Config,
                                         config_file: str,
                                         options: Optional[dict] = None,
                                         amp: bool = True) -> None:
    """Refuse, on every machine and before anything is built, MMEngine's
    ``AmpOptimWrapper`` given ``cpu_bf16``, an argument only ours takes.

    ``--amp --cfg-options optim_wrapper.type=AmpOptimWrapper`` is that: the
    type asks for MMEngine's class, ``--amp`` for ours (it sets
    ``cpu_bf16``). The Runner's build would end in a TypeError on a GPU,
    and on a CPU in a refusal that tells to add the ``--amp`` given. Which
    one is meant is not guessed: the line names both ways.

    Args:
        cfg (Config): The training config, after ``--amp`` and
            ``--cfg-options``.
        config_file (str): Its file, for the message.
        options (dict, optional): The ``--cfg-options`` given; None for
            those of the tool run in progress, if any. Defaults to None.
        amp (bool): Whether ``--amp`` was given; without it a
            ``cpu_bf16`` that no option set is the file's. Defaults to True.

    Raises:
        ConfigError: Naming where the type was set (the file, or the
            ``--cfg-options`` entry), ``cpu_bf16`` and what to drop.
    """
    wrapper = _wrapper(cfg)
    if 'cpu_bf16' not in wrapper or optim_wrapper_class(
            cfg) is not AmpOptimWrapper:
        return
    options = _given(options)
    value = f"optim_wrapper.cpu_bf16={wrapper['cpu_bf16']!r}"
    # An option that set it is named; else it is --amp's, or the file's.
    cpu_bf16 = option_place(
        'optim_wrapper.cpu_bf16', options, wrapper['cpu_bf16']) or (
            f'{value}; --amp sets it' if amp else f'{value} in {config_file}')
    ways = ("Drop --amp to train through MMEngine's wrapper on a GPU, or "
            'keep --amp without that type to train through '
            "'AdaptAmpOptimWrapper'." if amp else
            "Drop cpu_bf16 to train through MMEngine's wrapper on a GPU, or "
            "set optim_wrapper.type='AdaptAmpOptimWrapper', which takes it.")
    raise ConfigError(f'{_type_place(cfg, config_file, options)} is '
                      "MMEngine's AmpOptimWrapper, which takes no cpu_bf16 "
                      f'({cpu_bf16}). {ways}')
