# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check what a config gives the model's backbone (and the stock backbone
inside an AdaptFormer or VPT wrapper) before the Runner builds it.

mmaction2's VideoMAE ``VisionTransformer`` takes ``**kwargs`` and drops
them: ``drop_path_rat=0.3`` or ``num_head=4`` trained without drop path or
with the default heads, and nothing said so (mmpretrain's ViT refuses such
a key). :func:`check_backbone_arguments` names such a key, with the
closest argument.

A pretrained checkpoint that the backbone's ``init_cfg`` (or its own
``pretrained``) names and that is not there was found only when the Runner
initialised the model, after 300 lines of log and a log folder
(``FileNotFoundError: Checkpoint file not found: nope.pth``, no key); an
empty one (the stock MAE linear probe's placeholder) gave the same line
with no name at all. :func:`check_pretrained_files` names the key, and
:func:`check_init_cfgs` an ``init_cfg`` without a ``type``.
"""
from typing import Callable, Iterator, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import MODELS

from .config_error import ConfigError
from .config_place import mistake_place, option_name
from .local_files import checkpoint_file_problem
from .pretrained_init import is_pretrained_cfg
from .registry_names import close_hint, registered, use_default_scope
from .unknown_keys import dropped_keywords

__all__ = [
    'check_backbone_arguments', 'check_pretrained_files', 'check_init_cfgs',
    'PretrainedNames', 'backbone_dicts', 'dropped_backbone_arguments',
    'DROPPING_BACKBONES'
]

#: The backbones of mmaction2 and mmpretrain whose constructor takes
#: ``**kwargs`` and uses none of them (read from each registered
#: backbone's ``__init__`` source, mmaction2 1.2, mmpretrain 1.2), by
#: module and class name.
DROPPING_BACKBONES = ('mmaction.models.backbones.vit_mae.VisionTransformer', )

#: The packages whose classes' ``**kwargs`` are known; a class of another
#: one (a user's subclass) may use them.
_KNOWN_PACKAGES = ('mmaction.', 'mmpretrain.')


def backbone_dicts(cfg: Config) -> Iterator[Tuple[str, dict]]:
    """``(key, dict)`` of ``model.backbone`` and, for a wrapper, the stock
    backbone inside it (``model.backbone.backbone``): the dicts with a
    ``type`` among them."""
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(backbone, dict):
        return
    if 'type' in backbone:
        yield 'model.backbone', backbone
    host = backbone.get('backbone')
    if isinstance(host, dict) and 'type' in host:
        yield 'model.backbone.backbone', host


def dropped_backbone_arguments(backbone: dict,
                               cls: type) -> Tuple[List[str], List[str]]:
    """The arguments of the config ``backbone`` that the class ``cls``
    built from it would drop, and those it takes.

    Only a class of :data:`DROPPING_BACKBONES`, or a subclass from
    mmaction2 or mmpretrain that passes its ``**kwargs`` on to it, is read;
    any other gives ``([], [])``.
    """
    return dropped_keywords(backbone, cls, DROPPING_BACKBONES, _KNOWN_PACKAGES)


def check_backbone_arguments(cfg: Config,
                             source: str,
                             options: Optional[dict] = None) -> None:
    """Refuse an argument of ``model.backbone`` (or of the stock backbone
    inside a wrapper) that its class would accept and drop.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key (or the option that set it), the
            closest argument and the arguments the class takes.
    """
    use_default_scope(cfg)
    for key, backbone in backbone_dicts(cfg):
        cls = registered(MODELS, backbone['type'])
        if not isinstance(cls, type):
            continue  # a type no registry holds is named when it is built
        dropped, takes = dropped_backbone_arguments(backbone, cls)
        if not dropped:
            continue
        name = cls.__name__
        where = mistake_place(source, f'{key}.{dropped[0]}', options)
        toolbox = cls.__module__.split('.')[0].replace('mmaction', 'mmaction2')
        raise ConfigError(
            f'{where}: {name} takes no argument {dropped[0]!r}'
            f'{close_hint(dropped[0], takes)}; {toolbox}\'s {name} accepts '
            'and drops arguments it does not know, so it would be built as '
            f'if it were not there. It takes: {", ".join(takes)}.')


def _pretrained_paths(key: str,
                      backbone: dict) -> Iterator[Tuple[str, object]]:
    """``(key, path)`` of every checkpoint the backbone dict ``backbone``
    (the config's ``key``) names: a pretrained ``init_cfg``'s (one or in a
    list, :func:`~mmadaptformer.utils.pretrained_init.is_pretrained_cfg`)
    and its own ``pretrained`` path."""
    init_cfg = backbone.get('init_cfg')
    init_cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for index, one in enumerate(init_cfgs):
        if is_pretrained_cfg(one):
            at = f'[{index}]' if isinstance(init_cfg, (list, tuple)) else ''
            yield f'{key}.init_cfg{at}.checkpoint', one.get('checkpoint')
    # An empty one is how the hosts that read it say "none".
    if isinstance(backbone.get('pretrained'), str) and backbone['pretrained']:
        yield f'{key}.pretrained', backbone['pretrained']


#: Given a backbone's config, ``(flag, names)`` if its own ``pretrained`` is
#: one of ``names``, not a file (see :func:`check_pretrained_files`).
PretrainedNames = Callable[[dict], Optional[Tuple[str, Tuple[str, ...]]]]


def check_pretrained_files(
        cfg: Config,
        source: str,
        options: Optional[dict] = None,
        pretrained_names: Optional[PretrainedNames] = None) -> None:
    """Refuse a local pretrained checkpoint of the backbone (or of the
    stock backbone inside a wrapper) that is empty or not a file.

    An address (``https://``, ``torchvision://``) is left to its loader.

    Args:
        cfg (Config): The config, ``--pretrained`` and ``--cfg-options``
            applied.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        pretrained_names (Callable, optional): Given a backbone's config,
            ``(flag, names)`` if its own ``pretrained`` is read as one of
            ``names`` rather than as a file (UniFormer with
            ``pretrained2d``), else None: the host table's to say, which
            the models layer passes
            (``models.backbones.own_pretrained.pretrained_names_of_cfg``).
            Defaults to None: every ``pretrained`` is a file.

    Raises:
        ConfigError: Naming the key (or the option that set it) and the
            file, or, for an empty one, ``--pretrained``, which sets it;
            for a backbone that reads a name, any other value.
    """
    use_default_scope(cfg)
    for key, backbone in backbone_dicts(cfg):
        names = pretrained_names(backbone) if pretrained_names else None
        for path_key, path in _pretrained_paths(key, backbone):
            where = mistake_place(source, path_key, options)
            if names is not None and path_key == f'{key}.pretrained':
                _check_pretrained_name(where, key, backbone, path, names)
                continue
            if path is None or path == '':
                raise ConfigError(
                    f'{where}: the pretrained checkpoint is {path!r}, a '
                    'placeholder to fill in: give the backbone\'s weights '
                    'with --pretrained PATH (which sets it), or set the '
                    'key to the file.')
            problem = checkpoint_file_problem(path) if isinstance(
                path, str) else None
            if problem is None:
                continue
            raise ConfigError(
                f'{where}: the checkpoint {path} {problem}; give the '
                "backbone's weights with --pretrained PATH, or set the key "
                'to the file.')


def _check_pretrained_name(where: str, key: str, backbone: dict, name: str,
                           names: Tuple[str, Tuple[str, ...]]) -> None:
    """Refuse a ``pretrained`` that a backbone reading names (``names``:
    its flag and the names) does not know: mmaction2's ``_MODELS[name]``
    stopped with a ``KeyError`` once the Runner initialised it."""
    flag, known = names
    if name in known:
        return
    raise ConfigError(
        f'{where}: {backbone["type"]} with {flag}=True (given, or its '
        f'default) reads {key}.pretrained as the name of the weights it '
        f'downloads, one of {", ".join(map(repr, known))}, not as a file, '
        f'but got {name!r}. For a file of its own keys, set {key}.{flag}='
        'False, or give the file with --pretrained.')


def _init_cfgs(node, key: str) -> Iterator[Tuple[str, object]]:
    """``(config key, init_cfg)`` of every ``init_cfg`` under ``node``
    (each item of a list of them apart)."""
    if isinstance(node, dict):
        for name, value in node.items():
            sub = f'{key}.{name}'
            if name == 'init_cfg':
                if isinstance(value, (list, tuple)):
                    yield from ((f'{sub}[{i}]', item)
                                for i, item in enumerate(value))
                else:
                    yield sub, value
            else:
                yield from _init_cfgs(value, sub)
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _init_cfgs(value, f'{key}[{index}]')


def check_init_cfgs(cfg: Config,
                    source: str,
                    options: Optional[dict] = None) -> None:
    """Refuse an ``init_cfg`` of the model that is a dict without a
    ``type``: MMEngine's ``init_weights`` reads ``init_cfg['type']`` and
    stopped with ``KeyError: 'type'`` after the model was built and the
    work dir made. ``--cfg-options model.backbone.init_cfg.checkpoint=X``
    on a config whose ``init_cfg`` is None makes one.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key (or the option that set it).
    """
    for key, init_cfg in _init_cfgs(cfg.get('model'), 'model'):
        if isinstance(init_cfg, dict) and 'type' not in init_cfg:
            raise ConfigError(
                f'{mistake_place(source, key, options)}: {key} has no type '
                f'(it is {dict(init_cfg)!r}); MMEngine\'s init_weights '
                "would stop with KeyError: 'type'. Give the whole dict, e.g. "
                f"{option_name(key)}=dict(type='Pretrained', checkpoint=PATH) "
                '(for the backbone, --pretrained PATH sets it).')
