# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What surrounds a host's own ``init_weights()`` inside a frozen-host
wrapper (:meth:`~mmadaptformer.models.FrozenHostWrapper.init_host`): the
``Pretrained`` entries of its ``init_cfg`` and the weights it names itself
are left to the wrapper, which loads its file (read as the host reads it,
see :func:`read_host_pretrained`), and MMEngine's per-parameter init report
stays off the console.

Also the ``init_cfg`` a host's constructor cannot take: mmaction2's
TimeSformer (a plain ``nn.Module``) takes none, and mmaction2's MViT fails
on ``init_cfg=None`` (``'NoneType' object has no attribute 'copy'``), which
the tiny configs give their hosts. :func:`host_build_cfg` leaves it out of
a wrapped host's build; :func:`plain_host_init_cfg_problem` says why a
plain one cannot be built.
"""
import inspect
import logging
from contextlib import contextmanager
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional,
                    Tuple)

from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...utils.pretrained_init import is_pretrained_cfg
from ...utils.state_dict_check import StateDictMismatchError
from ..hosts import host_spec, resolve
from .own_loads import HostLoad, recording_loads

__all__ = [
    'without_pretrained', 'without_own_pretrained', 'quiet_console_init',
    'read_host_pretrained', 'own_weights', 'OWN_WEIGHTS_ATTR',
    'recording_loads', 'check_own_weights_loaded', 'takes_init_cfg',
    'host_build_cfg', 'plain_host_init_cfg_problem',
    'takes_own_pretrained_only', 'constructor_argument',
    'init_cfg_skipping_flags', 'non_pretrained_entries',
    'own_pretrained_values'
]

#: The host attribute that names the weights a host loads itself.
OWN_WEIGHTS_ATTR = 'pretrained'


def own_pretrained_values(cls: type) -> Dict[str, Any]:
    """The host table's :attr:`~mmadaptformer.models.HostSpec.
    own_pretrained` of a host class: its attributes that load the weights
    it names itself, and the values that stop them; empty for a host that
    names none, or a type that is no supported host."""
    spec = host_spec(cls)
    return dict(spec.own_pretrained) if spec is not None else {}


def takes_init_cfg(cls: type) -> bool:
    """Whether the constructor of ``cls`` accepts an ``init_cfg``: an
    MMEngine ``BaseModule`` or one that names it (TimeSformer takes
    ``**kwargs`` but hands them to ``nn.Module``, which refuses it)."""
    return issubclass(cls, BaseModule) or \
        'init_cfg' in inspect.signature(cls.__init__).parameters


def constructor_argument(cls: type, cfg: Mapping, name: str) -> Any:
    """The value of the constructor argument ``name`` of ``cls`` that the
    config ``cfg`` gives, else its default (None without one)."""
    if name in cfg:
        return cfg[name]
    parameter = inspect.signature(cls.__init__).parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def takes_own_pretrained_only(host: nn.Module) -> bool:
    """Whether ``host`` takes no ``init_cfg`` and loads its weights from its
    own ``pretrained`` (mmaction2's TimeSformer): built plain, by the
    toolbox, that is where its weights go."""
    cls = type(host)
    return OWN_WEIGHTS_ATTR in own_pretrained_values(cls) and \
        not takes_init_cfg(cls)


def host_build_cfg(cls: type, cfg: Mapping) -> Tuple[dict, Optional[Any]]:
    """The config to build a wrapped host of class ``cls`` from, and the
    ``init_cfg`` to set on the built host (None: none to set).

    * A host whose constructor takes no ``init_cfg`` (a plain
      ``nn.Module`` such as mmaction2's TimeSformer) is built without it
      and gets it as an attribute, which the wrapper applies (see
      :meth:`~mmadaptformer.models.FrozenHostWrapper.init_host`);
      ``init_cfg=None`` is simply left out.
    * ``init_cfg=None`` on a host that fails on it
      (:attr:`~mmadaptformer.models.HostSpec.init_cfg_none_fails`,
      mmaction2's MViT) is left out: the host keeps its own default init,
      and the wrapper loads the weights it is given (``--pretrained``).

    Args:
        cls (type): The host's class.
        cfg (Mapping): The host's config, with its ``type``.

    Returns:
        tuple[dict, Any]: The config to build from (a copy where it
        changed) and the ``init_cfg`` to set afterwards, or None.
    """
    if 'init_cfg' not in cfg:
        return dict(cfg), None
    init_cfg = cfg['init_cfg']
    takes = takes_init_cfg(cls)
    spec = host_spec(cls)
    if takes and (init_cfg is not None or spec is None
                  or not spec.init_cfg_none_fails):
        return dict(cfg), None
    kept = {name: value for name, value in cfg.items() if name != 'init_cfg'}
    return kept, None if takes else init_cfg


def plain_host_init_cfg_problem(cls: type, cfg: Mapping,
                                key: str) -> Optional[str]:
    """Why a plain backbone (no wrapper) of class ``cls`` cannot be built
    with the ``init_cfg`` its config ``cfg`` gives, or None if it can.

    The wrappers build such a host anyway (:func:`host_build_cfg`); a plain
    one is built by the toolbox, which passes the key on.

    Args:
        cls (type): The backbone's class.
        cfg (Mapping): Its config.
        key (str): Its config key, e.g. ``'model.backbone'``.

    Returns:
        str, optional: What is wrong and what to write instead.
    """
    if 'init_cfg' not in cfg:
        return None
    init_cfg = cfg['init_cfg']
    toolbox = cls.__module__.split('.')[0].replace('mmaction', 'mmaction2')
    name = f"{toolbox}'s {cls.__name__}"
    if not takes_init_cfg(cls):
        own = OWN_WEIGHTS_ATTR in own_pretrained_values(cls)
        weights = (f', and give it its weights as {key}.'
                   f'{OWN_WEIGHTS_ATTR}=FILE' if own else '')
        return (f'{name} is a plain nn.Module and takes no init_cfg (its '
                'init_weights() initialises it); leave init_cfg out'
                f'{weights}.')
    entries = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    if any(is_pretrained_cfg(entry) for entry in entries):
        flags = init_cfg_skipping_flags(
            cls, lambda flag: constructor_argument(cls, cfg, flag))
        if flags:
            return (f'{name} with {flags[0]}=True (given, or its default) '
                    'never runs its init_cfg: its init_weights() loads only '
                    f'what its own `pretrained` names, so the Pretrained '
                    'file would not load and the frozen backbone would stay '
                    f'random; set {key}.{flags[0]}=False (tools/train.py '
                    '--pretrained does).')
    spec = host_spec(cls)
    if init_cfg is None and spec is not None and spec.init_cfg_none_fails:
        return (f'{name} copies its init_cfg in its constructor and fails on '
                'None; leave init_cfg out for its own default init, or '
                "give one, e.g. dict(type='Pretrained', checkpoint=FILE).")
    return None


def init_cfg_skipping_flags(cls: type, value: Callable[[str],
                                                       Any]) -> List[str]:
    """The flags of a host of class ``cls`` that load its own weights that
    are on, so that its ``init_weights()`` never runs its ``init_cfg``
    (Swin3D's and UniFormer's ``pretrained2d``, UniFormerV2's
    ``clip_pretrained``: it loads what its ``pretrained`` names instead).

    Args:
        cls (type): The host's class.
        value (Callable[[str], Any]): The value of a flag: its config's
            (:func:`constructor_argument`) or a built host's attribute.

    Returns:
        list[str]: The flags that are on, in the host table's order.
    """
    own = own_pretrained_values(cls)
    if OWN_WEIGHTS_ATTR not in own:
        return []
    return [
        flag for flag, off in own.items()
        if flag != OWN_WEIGHTS_ATTR and off is False and value(flag)
    ]


def own_weights(host: nn.Module) -> Optional[str]:
    """The weights a host names and loads itself in its ``init_weights()``
    (:attr:`~mmadaptformer.models.HostSpec.own_pretrained`), e.g. Swin3D's
    2D ImageNet file it inflates, UniFormerV2's CLIP encoder: its
    ``pretrained`` path, address or name; None if it names none."""
    if not own_pretrained_values(type(host)):
        return None
    value = getattr(host, OWN_WEIGHTS_ATTR, None)
    return value if isinstance(value, str) and value else None


def check_own_weights_loaded(host: nn.Module,
                             loads: List[HostLoad],
                             own: str,
                             key: str,
                             plain: bool = False) -> None:
    """Refuse a host that loaded none of its parameters from the weights it
    names itself.

    The hosts load those non-strictly (Swin3D, UniFormer, UniFormerV2,
    TimeSformer): a file whose keys do not fit, e.g. a recognizer
    checkpoint with a ``backbone.`` prefix, loaded nothing, with a warning
    only, and the frozen backbone stayed random. Some missing tensors are
    normal (TimeSformer's temporal attention from a 2D ViT, buffers that
    Swin3D rebuilds); none loaded is not.

    The advice is the host's: a whole model's checkpoint goes to
    ``tools/train.py --pretrained``, which takes its backbone, except for a
    plain host that takes no ``init_cfg`` (TimeSformer), which reads
    ``--pretrained`` itself, without a prefix: such a file loads with
    ``load_from``; and what ``key`` takes is the host table's
    (:attr:`~mmadaptformer.models.HostSpec.own_pretrained_advice`).

    Args:
        host (nn.Module): The host, after its ``init_weights()``.
        loads (list[HostLoad]): What :func:`recording_loads` recorded
            then.
        own (str): The weights it names (:func:`own_weights`).
        key (str): Their config key, for the error.
        plain (bool): The host is the model's backbone, built by the
            toolbox, not a wrapper's. Defaults to False.

    Raises:
        StateDictMismatchError: Naming the file, the config key and what
            to do.
    """
    params = [name for name, _ in host.named_parameters()]
    loaded = [
        name for name in params
        if any(name not in load.missing for load in loads)
    ]
    if loaded or not params:
        return
    name = type(host).__name__
    what = ('it loaded no state dict' if not loads else
            f'none of its {len(params)} parameters ({params[0]}, ...) is in '
            'it under that name')
    if plain and not takes_init_cfg(type(host)):
        whole = ('loads with load_from=FILE in its place (the head too): '
                 f'{name} takes no init_cfg, and --pretrained gives it a '
                 'file of its own keys')
    else:
        whole = 'goes to tools/train.py as --pretrained, which takes its ' \
            'backbone'
    spec = host_spec(type(host))
    advice = spec.own_pretrained_advice if spec is not None else None
    host_key = key.rsplit('.', 1)[0]
    takes = (f', e.g. {advice.format(key=host_key, file="FILE")}'
             if advice else '')
    raise StateDictMismatchError(
        f'{name} names its own weights {own} ({key}), but {what}: the '
        'frozen backbone would stay random. A checkpoint of a whole model '
        f'(keys starting with backbone.) {whole}; {key} takes a checkpoint '
        f'{name} reads itself{takes}.')


def read_host_pretrained(host: nn.Module,
                         init_cfg: Mapping) -> Optional[Dict[str, Tensor]]:
    """The state dict of a ``Pretrained`` entry as the host's own
    ``init_weights()`` would read it, if the host declares a reader
    (:attr:`~mmadaptformer.models.HostSpec.pretrained_reader`) and the
    reader applies; None: read it as MMEngine's ``PretrainedInit`` does."""
    spec = host_spec(type(host))
    if spec is None or spec.pretrained_reader is None:
        return None
    return resolve(spec.pretrained_reader)(host, init_cfg)


def non_pretrained_entries(init_cfg: Any) -> list:
    """The entries of an ``init_cfg`` (a dict, a list of them, or None)
    other than its ``Pretrained`` ones, and other than None."""
    entries = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [cfg for cfg in entries if cfg and not is_pretrained_cfg(cfg)]


@contextmanager
def without_pretrained(host: nn.Module) -> Iterator[None]:
    """Leave the ``Pretrained`` entries out of the host's ``init_cfg``
    while its own ``init_weights()`` runs; the wrapper loads them."""
    if 'init_cfg' not in host.__dict__:
        yield
        return
    init_cfg = host.__dict__['init_cfg']
    entries = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    if any(is_pretrained_cfg(cfg) for cfg in entries):
        host.init_cfg = non_pretrained_entries(init_cfg) or None
    try:
        yield
    finally:
        # Also undoes a Pretrained entry the host set itself from the
        # weights it names (Swin3D, UniFormer): the config's stays.
        host.init_cfg = init_cfg


@contextmanager
def without_own_pretrained(host: nn.Module) -> Iterator[None]:
    """Stop the host's own ``init_weights()`` from loading the weights it
    names itself (:attr:`~mmadaptformer.models.HostSpec.own_pretrained`),
    while the wrapper loads a ``Pretrained`` file that replaces them."""
    values = own_pretrained_values(type(host))
    saved = {
        name: getattr(host, name)
        for name in values if hasattr(host, name)
    }
    for name in saved:
        setattr(host, name, values[name])
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(host, name, value)


@contextmanager
def quiet_console_init(host: nn.Module) -> Iterator[None]:
    """Keep MMEngine's per-parameter init report of a top-level
    ``init_weights()`` off the console.

    Inside a runner the report goes to the log file and stays there; a
    lazy load outside one (e.g. ``init_recognizer``) would print a line for
    every tensor of the backbone instead.
    """
    logger = MMLogger.get_current_instance()
    if hasattr(host, '_params_init_info') or any(
            isinstance(h, logging.FileHandler) for h in logger.handlers):
        yield
        return
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
