# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the keys of a config that MMEngine's Runner reads itself, before
it reads them: ``env_cfg``, ``auto_scale_lr``, ``default_hooks``,
``custom_hooks``, ``log_level`` and ``load_from`` (and, through their own
modules, ``optim_wrapper.paramwise_cfg`` and ``clip_grad`` and the
recognizer's ``train_cfg``/``test_cfg``).

The Runner reads the ``env_cfg`` keys it knows with ``env_cfg.get(...)``,
so a misspelled one (``cudnn_benchmrk=True``, ``resource_limt=8192``) was
silently ignored: the run went on without the setting and nothing said
so. A misspelled ``mp_cfg`` key, or a start method ``multiprocessing`` does
not have, was a traceback from the Runner's constructor (``TypeError:
set_multi_processing() got an unexpected keyword argument``,
``ValueError: cannot find context for 'forkk'``), after the work dir was
made; a ``dist_cfg`` key ``init_process_group`` does not take failed only
once a distributed run started. ``auto_scale_lr`` is read the same way:
``enabel=True`` trained at the config's learning rate whatever the batch.

A default hook is merged by its name: ``default_hooks.chekpoint.interval=2``
adds a hook dict without a ``type`` next to ``checkpoint``, which the
Runner could not build (``KeyError: '`cfg` or `default_args` must contain
the key "type", but got {'interval': 2}'``); a log level logging does not
know was a ``KeyError`` or ``TypeError`` from the logger. A ``load_from``
checkpoint that is not there was found only when the Runner loaded it,
after it had made a log folder in the work dir and built the model.
:func:`check_runner_config` names each of these as a mistake of the
config, with the closest keys. For training, :func:`check_optim_wrapper`
names an ``optim_wrapper`` that is no dict (``optim_wrapper = 'SGD'``),
which the Runner refused only when it built it, after it had made the work
dir (``TypeError: optimizer wrapper should be an OptimWrapper object or
dict, but got SGD``).
"""
import inspect
import logging
import multiprocessing
from typing import Optional

import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import OPTIMIZERS
from mmengine.utils.dl_utils import set_multi_processing

from .clip_grad_check import check_clip_grad
from .config_error import ConfigError
from .config_place import mistake_place, option_place
from .hook_entries import check_hook_types
from .image_metric_classes import check_metric_classes
from .local_files import checkpoint_file_problem
from .optimizer_check import check_optimizer_cfg
from .paramwise_check import check_paramwise_cfg
from .preprocessor_check import check_shadowed_preprocessor
from .recognizer_check import check_evaluated_views, check_recognizer_cfg
from .registry_names import close_hint, registered
from .runner_arguments import check_runner_arguments
from .runner_type import mmengine_runner
from .unknown_keys import refuse_unknown_keys

__all__ = [
    'check_runner_config', 'check_env_cfg', 'check_hooks', 'check_log_level',
    'check_load_from', 'check_auto_scale_lr', 'check_optim_wrapper',
    'ENV_CFG_KEYS', 'AUTO_SCALE_LR_KEYS', 'RUNNER_DEFAULT_HOOKS'
]

#: The ``env_cfg`` keys MMEngine 0.10's ``Runner.setup_env`` reads (and
#: ``FlexibleRunner``'s strategies take).
ENV_CFG_KEYS = ('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit')

#: The ``auto_scale_lr`` keys MMEngine 0.10's ``Runner.scale_lr`` reads.
AUTO_SCALE_LR_KEYS = ('enable', 'base_batch_size')

#: What ``env_cfg.mp_cfg`` may set: ``set_multi_processing``'s arguments
#: but the one the Runner passes itself.
MP_CFG_KEYS = tuple(
    name for name in inspect.signature(set_multi_processing).parameters
    if name != 'distributed')

#: What ``env_cfg.dist_cfg`` may set: MMEngine's ``init_dist`` takes
#: ``backend`` and ``init_backend`` (and, under slurm, ``port``) and passes
#: the rest to PyTorch's ``init_process_group``.
DIST_CFG_KEYS = tuple(
    dict.fromkeys(('backend', 'init_backend', 'port') + tuple(
        name
        for name in inspect.signature(torch_dist.init_process_group).parameters
        if not name.startswith('_'))))

#: The default hooks MMEngine 0.10's ``Runner.register_default_hooks``
#: starts from, before it merges the config's ``default_hooks`` by name.
RUNNER_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                        'param_scheduler', 'checkpoint')


def check_env_cfg(cfg: Config,
                  source: str,
                  options: Optional[dict] = None) -> None:
    """Check the keys of ``cfg.env_cfg``, of its ``mp_cfg`` and
    ``dist_cfg``, and the multiprocessing start method it names.

    Args:
        cfg (Config): The config; one without ``env_cfg``, or whose
            ``runner_type`` is not MMEngine's ``Runner`` or
            ``FlexibleRunner``, is not checked.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the config (or the ``--cfg-options`` entry),
            the key and the closest known keys, for the first key MMEngine
            does not read, or a ``mp_start_method`` this platform lacks.
    """
    if not mmengine_runner(cfg):
        return
    env_cfg = cfg.get('env_cfg')
    if env_cfg is None:
        return
    if not isinstance(env_cfg, dict):
        raise ConfigError(f'{source}: env_cfg must be a dict such as '
                          'dict(cudnn_benchmark=False, mp_cfg=..., '
                          f'dist_cfg=...), but got {env_cfg!r}.')
    refuse_unknown_keys(env_cfg, 'env_cfg', ENV_CFG_KEYS, 'env_cfg key',
                        "MMEngine's Runner would ignore it without a word",
                        source, options)
    for name, known, fate in (
        ('mp_cfg', MP_CFG_KEYS,
         "MMEngine's set_multi_processing would refuse it"),
        ('dist_cfg', DIST_CFG_KEYS,
         "PyTorch's init_process_group would refuse it once a distributed "
         'run starts'),
    ):
        sub = env_cfg.get(name)
        if sub is None:
            continue
        if not isinstance(sub, dict):
            raise ConfigError(
                f'{mistake_place(source, f"env_cfg.{name}", options)}: '
                f'env_cfg.{name} must be a dict, but got {sub!r}.')
        refuse_unknown_keys(sub, f'env_cfg.{name}', known,
                            f'env_cfg.{name} key', fate, source, options)
    method = (env_cfg.get('mp_cfg') or {}).get('mp_start_method')
    methods = multiprocessing.get_all_start_methods()
    if method is not None and method not in methods:
        where = mistake_place(source, 'env_cfg.mp_cfg.mp_start_method',
                              options)
        raise ConfigError(
            f'{where}: {method!r} is no multiprocessing start method here'
            f'{close_hint(str(method), methods)}. This platform has: '
            f'{", ".join(methods)}.')


def check_auto_scale_lr(cfg: Config,
                        source: str,
                        options: Optional[dict] = None) -> None:
    """Check the keys of ``cfg.auto_scale_lr``, and that an enabled one
    gives the batch size its learning rate is for.

    Args:
        cfg (Config): The config; one whose ``runner_type`` is not
            MMEngine's is not checked.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: For a key ``Runner.scale_lr`` does not read (it would
            ignore it), or ``enable=True`` without ``base_batch_size``
            (which it asserts once training starts).
    """
    auto_scale_lr = cfg.get('auto_scale_lr')
    if not mmengine_runner(cfg) or not isinstance(auto_scale_lr, dict):
        return
    refuse_unknown_keys(auto_scale_lr, 'auto_scale_lr', AUTO_SCALE_LR_KEYS,
                        'auto_scale_lr key',
                        "MMEngine's Runner would ignore it without a word",
                        source, options)
    if auto_scale_lr.get('enable') and 'base_batch_size' not in \
            auto_scale_lr:
        raise ConfigError(
            f'{mistake_place(source, "auto_scale_lr.enable", options)}: '
            'auto_scale_lr is enabled without base_batch_size, the total '
            'batch its learning rate is for; MMEngine\'s Runner would stop '
            'on it once training starts.')


def check_hooks(cfg: Config,
                source: str,
                options: Optional[dict] = None) -> None:
    """Check that every default and custom hook the Runner will build is a
    hook, a dict with a ``type`` that a registry holds
    (:func:`~.hook_entries.check_hook_types`), or (a default hook) None.

    Args:
        cfg (Config): The config.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: For ``default_hooks`` that is no dict, ``custom_hooks``
            that is no list, or a hook dict without a ``type`` or of an
            unknown one: naming the key and the closest names.
    """
    default_hooks = cfg.get('default_hooks')
    if default_hooks is not None and not isinstance(default_hooks, dict):
        where = option_place('default_hooks', options) or source
        raise ConfigError(
            f'{where}: default_hooks must be a dict of hooks by name, such '
            "as dict(checkpoint=dict(type='CheckpointHook', interval=1)), "
            f'but got {default_hooks!r}.')
    for name, hook in (default_hooks or {}).items():
        if hook is None or _buildable(hook):
            continue
        names = list(
            dict.fromkeys(RUNNER_DEFAULT_HOOKS +
                          tuple(other
                                for other, value in default_hooks.items()
                                if _buildable(value))))
        where = option_place(f'default_hooks.{name}', options) or source
        raise ConfigError(
            f'{where}: default_hooks.{name} is {_no_hook(hook)}'
            f'{close_hint(name, names)}; the Runner merges default hooks by '
            'name, and builds each from a dict with a type (or removes it '
            f'for None). Default hooks here: {", ".join(names)}.')
    custom_hooks = cfg.get('custom_hooks')
    if custom_hooks is None:
        return
    if not isinstance(custom_hooks, (list, tuple)):
        where = option_place('custom_hooks', options) or source
        raise ConfigError(
            f'{where}: custom_hooks must be a list of hooks, such as '
            f"[dict(type='EMAHook')], but got {custom_hooks!r}.")
    for index, hook in enumerate(custom_hooks):
        if _buildable(hook):
            continue
        where = option_place(f'custom_hooks[{index}]', options) or source
        raise ConfigError(
            f'{where}: custom_hooks[{index}] is {_no_hook(hook)}; the Runner '
            'builds each custom hook from a dict with a type, such as '
            "dict(type='EMAHook').")
    check_hook_types(cfg, source, options)


def _buildable(hook) -> bool:
    """Whether the Runner can register ``hook``: a hook, or a dict with a
    ``type``."""
    return isinstance(hook, Hook) or (isinstance(hook, dict)
                                      and 'type' in hook)


def _no_hook(hook) -> str:
    """What a hook entry that cannot be built is, for an error."""
    if isinstance(hook, dict):
        return f'a dict without a type ({hook!r})'
    return f'no hook but {hook!r}'


def check_log_level(cfg: Config,
                    source: str,
                    options: Optional[dict] = None) -> None:
    """Check that ``log_level``, if set, is a level number or a name that
    :mod:`logging` knows, as MMEngine's logger looks it up (case matters).

    Args:
        cfg (Config): The config.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key, the value and the level names.
    """
    level = cfg.get('log_level')
    if level is None or (isinstance(level, int)
                         and not isinstance(level, bool)):
        return
    # getLevelName maps a registered name to its number.
    if isinstance(level, str) and isinstance(logging.getLevelName(level), int):
        return
    names = [
        logging.getLevelName(number)
        for number in (logging.DEBUG, logging.INFO, logging.WARNING,
                       logging.ERROR, logging.CRITICAL)
    ]
    hint = close_hint(level.upper(), names) if isinstance(
        level, str) else f' but a {type(level).__name__}'
    where = option_place('log_level', options) or source
    raise ConfigError(
        f'{where}: log_level={level!r} '
        f'is no logging level{hint}; give one of {", ".join(names)} (in '
        'capitals) or an int such as 20.')


def check_load_from(cfg: Config,
                    source: str,
                    options: Optional[dict] = None) -> None:
    """Refuse a local ``load_from`` that is not a file.

    An address (``https://``, ``s3://``) is left to its loader.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key or the option that set it.
    """
    load_from = cfg.get('load_from')
    problem = checkpoint_file_problem(load_from) if load_from else None
    if problem is None:
        return
    raise ConfigError(f'{mistake_place(source, "load_from", options)}: the '
                      f'checkpoint {load_from} {problem}.')


def check_optim_wrapper(cfg: Config,
                        source: str,
                        options: Optional[dict] = None) -> None:
    """Refuse, for a tool about to train, an ``optim_wrapper`` that is not
    a dict, or none at all: MMEngine's Runner builds the optimizer wrapper
    from a dict with a ``type`` (or a dict of them), and refused anything
    else only once it built it, after it had made the work dir. A dict is
    checked by :func:`~.optimizer_check.check_optimizer_cfg` (types and
    arguments of its constructor, wrapper and optimizer).

    Args:
        cfg (Config): The training config, ``--cfg-options`` merged; one
            whose ``runner_type`` is not MMEngine's is not checked.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the config (or the ``--cfg-options`` entry),
            the value and a dict to write instead; or
            :func:`~.optimizer_check.check_optimizer_cfg`'s.
    """
    wrapper = cfg.get('optim_wrapper')
    if not mmengine_runner(cfg):
        return
    if isinstance(wrapper, dict):
        check_optimizer_cfg(cfg, source, options)
        return
    # An optimizer's name given as the wrapper goes in its optimizer.
    optimizer = wrapper if isinstance(wrapper, str) and registered(
        OPTIMIZERS, wrapper) is not None else 'AdamW'
    found = f'optim_wrapper={wrapper!r} is not a dict' \
        if 'optim_wrapper' in cfg else 'optim_wrapper is missing'
    raise ConfigError(
        f'{option_place("optim_wrapper", options) or source}: {found}; '
        "MMEngine's Runner builds the optimizer wrapper it trains with from "
        "a dict with a type, e.g. optim_wrapper = dict(type='OptimWrapper', "
        f"optimizer=dict(type='{optimizer}', lr=1e-3)).")


def check_runner_config(cfg: Config,
                        source: str,
                        options: Optional[dict] = None,
                        evaluators=()) -> None:
    """:func:`check_env_cfg`, :func:`check_auto_scale_lr`,
    :func:`check_hooks`, :func:`check_log_level`,
    :func:`~.paramwise_check.check_paramwise_cfg`,
    :func:`~.clip_grad_check.check_clip_grad`, :func:`check_load_from`
    and, for the model the Runner builds,
    :func:`~.recognizer_check.check_recognizer_cfg`,
    :func:`~.preprocessor_check.check_shadowed_preprocessor` and
    :func:`~.recognizer_check.check_evaluated_views`, and the evaluators'
    metrics against the head's classes
    (:func:`~.image_metric_classes.check_metric_classes`), and the
    arguments of the hooks, metrics, visualizer and log processor
    (:func:`~.runner_arguments.check_runner_arguments`): for a tool about
    to build a Runner.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        evaluators (Sequence[str]): The evaluators the tool will run
            (``'val_evaluator'``, ``'test_evaluator'``). Defaults to ().

    Raises:
        ConfigError: For the first mistake found.
    """
    check_env_cfg(cfg, source, options)
    check_auto_scale_lr(cfg, source, options)
    check_hooks(cfg, source, options)
    check_log_level(cfg, source, options)
    check_paramwise_cfg(cfg, source, options)
    check_clip_grad(cfg, source, options)
    check_load_from(cfg, source, options)
    check_recognizer_cfg(cfg, source, options)
    check_shadowed_preprocessor(cfg, source, options)
    check_evaluated_views(cfg, source, evaluators, options)
    check_metric_classes(cfg, source, evaluators, options)
    check_runner_arguments(cfg, source, options, evaluators)
