# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Point a config's pretrained backbone at a checkpoint file.

``tools/train.py --pretrained PATH`` and ``tools/test.py --pretrained PATH``
go through :func:`set_pretrained_backbone`. It works on every config layout
of this package and of the toolboxes:

* a wrapped backbone (``AdaptFormer``, ``VPT``): the stock backbone's
  ``init_cfg`` is at ``model.backbone.backbone.init_cfg``;
* a plain backbone (linear probe, full fine-tuning, stock configs):
  ``model.backbone.init_cfg``.

The stock backbone's ``init_cfg`` is *replaced* (whatever it was: None, a
list of initialisers or another ``Pretrained``), so it also works where
``--cfg-options ...init_cfg.checkpoint=PATH`` cannot merge into None.

Every checkpoint layout that the converters and MMEngine write is accepted;
the ``prefix`` of MMEngine's ``Pretrained`` initialiser is chosen from the
file's keys:

* ``{'state_dict': {'backbone.*': ..., 'cls_head.*'/'head.*': ...}}``
  (``tools/model_converters/convert_official.py`` and MMEngine training
  checkpoints): ``prefix='backbone.'``;
* the same with DDP's ``module.`` in front: ``prefix='module.backbone.'``;
* the stock backbone's own keys, bare or under ``'state_dict'``: no prefix.

A file whose weights MMEngine would not find (nested under ``'model'``) or
would load only in part (the official ViT key layout) is refused with the
converter for the config's backbone (:mod:`.pretrained_conversion`).
"""
import os.path as osp
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from mmengine.config import Config, ConfigDict

from .checkpoint_loading import safe_torch_load
from .checkpoint_source import frozen_records
from .load_refusal import LoadRefusal
from .local_files import full_local_path, home_expanded, is_local
from .model_keys import WHOLE_MODEL_PREFIXES
from .official_vit_keys import unconverted_vit_layout
from .pretrained_conversion import (CONVERT_VIT, conversion_advice,
                                    is_vit_host, nested_weights,
                                    nested_weights_message)
from .pretrained_init import is_pretrained_cfg
from .weights_nesting import tensor_keys

__all__ = [
    'NoWeightsFoundError', 'PretrainedFileError', 'backbone_init_cfg_key',
    'config_backbone_file', 'backbone_checkpoint_prefix',
    'own_pretrained_hint', 'set_pretrained_backbone'
]


class PretrainedFileError(ValueError, LoadRefusal):
    """A file given as a backbone's pretrained weights holds none."""


class NoWeightsFoundError(PretrainedFileError):
    """A checkpoint dict without tensors where MMEngine looks for them
    (``'state_dict'`` or its top level)."""


def backbone_init_cfg_key(cfg: Config) -> str:
    """The config key of the stock backbone's ``init_cfg``.

    Args:
        cfg (Config): A model config with ``model.backbone``.

    Returns:
        str: ``'model.backbone.backbone.init_cfg'`` for a wrapped backbone
        (a ``backbone`` dict with a ``type`` inside ``model.backbone``),
        else ``'model.backbone.init_cfg'``.

    Raises:
        KeyError: If the config has no ``model.backbone`` dict.
    """
    model = cfg.get('model', None)
    backbone = model.get('backbone', None) if isinstance(model, dict) else None
    if not isinstance(backbone, dict):
        raise KeyError(
            f'{cfg.filename}: --pretrained needs a `model.backbone` dict in '
            f'the config, but model.backbone is {backbone!r}.')
    inner = backbone.get('backbone', None)
    if isinstance(inner, dict) and 'type' in inner:
        return 'model.backbone.backbone.init_cfg'
    return 'model.backbone.init_cfg'


def config_backbone_file(cfg: Config,
                         config: str) -> Tuple[Optional[str], str]:
    """The pretrained file ``config`` names for its (stock) backbone, as
    training loads it: the last ``Pretrained`` entry of its ``init_cfg``,
    else its own ``pretrained``.

    Args:
        cfg (Config): The config read from ``config``.
        config (str): Its file, for the reasons.

    Returns:
        tuple: The file (``~`` expanded) and ``''`` when it is a local file
        that is there; else None and why nothing can be compared with it.
    """
    try:
        key = backbone_init_cfg_key(cfg)
    except KeyError:
        return None, f'{config} has no model.backbone'
    host = cfg.model.backbone
    if key == 'model.backbone.backbone.init_cfg':
        host = host.backbone
    init_cfg = host.get('init_cfg')
    listed = isinstance(init_cfg, (list, tuple))
    named = [(f'{key}[{i}].checkpoint' if listed else f'{key}.checkpoint',
              entry.get('checkpoint'))
             for i, entry in enumerate(init_cfg if listed else [init_cfg])
             if is_pretrained_cfg(entry)]
    own = host.get('pretrained')
    if not named and isinstance(own, str) and own:
        named = [(key[:-len('init_cfg')] + 'pretrained', own)]
    if not named:
        return None, f'{config} names none at {key}'
    where, path = named[-1]
    if not isinstance(path, str) or not path:
        return None, f'{config} names none ({where} is {path!r})'
    if not is_local(path):
        return None, (f'the one {config} names at {where}, {path}, is an '
                      'address, which is not downloaded only to compare')
    # As the checkpoint loaders read it (MMEngine's and ours expand ``~``).
    if not osp.isfile(home_expanded(path)):
        return None, f'the one {config} names at {where}, {path}, is not there'
    return home_expanded(path), ''


def backbone_checkpoint_prefix(checkpoint: Any,
                               filename: str = 'checkpoint') -> Optional[str]:
    """The ``Pretrained`` prefix that selects the backbone of a checkpoint.

    Args:
        checkpoint (Any): What the checkpoint file holds.
        filename (str): The file, for the error message.
            Defaults to 'checkpoint'.

    Returns:
        str | None: ``'backbone.'`` or ``'module.backbone.'`` when the keys
        carry it, None when they are the backbone's own keys.

    Raises:
        PretrainedFileError: If the file is an adapter-only checkpoint,
            or not a dict.
        NoWeightsFoundError: If it holds no state dict, e.g. an official
            checkpoint (``{'model': ...}``) that was not converted.
    """
    if not isinstance(checkpoint, dict):
        raise PretrainedFileError(
            f'{filename} holds a {type(checkpoint).__name__}, not a state '
            'dict or a checkpoint dict with a "state_dict".')
    state_dict = checkpoint.get('state_dict', checkpoint)
    tensors = tensor_keys(state_dict)
    records = list(frozen_records(checkpoint).values())
    if records:
        trained_on = records[0].get('pretrained')
        raise PretrainedFileError(
            f'{filename} is an adapter-only checkpoint: it holds what '
            'trained (adapters, prompts, the head), not a backbone. Give it '
            'as the checkpoint to test or infer with, and as the pretrained '
            'backbone the one it was trained on' +
            (f': {trained_on}.' if trained_on else '.'))
    if not tensors:
        raise NoWeightsFoundError(
            f'{nested_weights_message(checkpoint, filename)} Convert it to '
            "the backbone's key layout first (ViT checkpoints of the "
            'official AdaptFormer, VideoMAE, MAE and DeiT code and of timm: '
            f'{CONVERT_VIT} SRC DST).')
    for prefix in WHOLE_MODEL_PREFIXES:
        if any(k.startswith(prefix) for k in tensors):
            return prefix
    return None


def _scope(cfg: Config, host_type: str) -> Optional[str]:
    """The toolbox a backbone type is built from: its ``scope.`` prefix,
    else the config's ``default_scope``."""
    if '.' in host_type:
        return host_type.split('.')[0]
    return cfg.get('default_scope', None)


def _read_for_keys(checkpoint: str) -> Any:
    """What ``checkpoint`` holds, to look at its keys and shapes: a local
    file through the safe loader with its tensors mapped, not read (the
    Runner reads them when it loads the weights); an address through
    ``CheckpointLoader``, whose scheme loaders download and load it safely
    (:mod:`.checkpoint_schemes`)."""
    if is_local(checkpoint):
        return safe_torch_load(checkpoint, map_location='cpu', mmap=True)
    from mmengine.runner import CheckpointLoader
    return CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')


def own_pretrained_hint(host_type: str,
                        key: str,
                        advice: str,
                        checkpoint: Optional[str] = None) -> str:
    """How to give a checkpoint to a host that reads checkpoints of another
    layout itself, through its own ``pretrained`` (Swin3D's 2D weights it
    inflates from a file, UniFormer's it inflates from a name, TimeSformer's
    2D ViT it converts), rather than as its ``init_cfg`` (``--pretrained``).

    The one text of this advice: the frozen-host wrappers' refusal of a
    host's ``init_cfg`` file and :func:`set_pretrained_backbone`'s refusal
    of a ``--pretrained`` file both say it, each with what it knows. Which
    hosts get it, and what works for each, is the host table's to say
    (``models/hosts*.py``), so the models layer decides:
    ``models.backbones.own_loading_hint.own_loading_hint`` for a built host,
    ``models.own_loading_hint_of_cfg`` for a host's config.

    Args:
        host_type (str): The host's type, e.g. ``'SwinTransformer3D'``.
        key (str): The config key of the host, e.g.
            ``'model.backbone.backbone'``.
        advice (str): The host's own words for those weights and the
            settings that load them, ``{key}`` and ``{file}`` standing for
            the key and the file (the host table's
            ``own_pretrained_advice``).
        checkpoint (str, optional): The file to give it; None names no file
            (``FILE``). Defaults to None.

    Returns:
        str: One sentence, without a leading space.

    Examples:
        >>> hint = own_pretrained_hint('TimeSformer', 'model.backbone',
        ...                            'the 2D ViT weights it converts: set '
        ...                            '{key}.pretrained={file}')
        >>> hint[:37]
        'TimeSformer reads checkpoints itself '
    """
    file = 'FILE' if checkpoint is None else repr(checkpoint)
    how = advice.format(key=key, file=file)
    return (f'{host_type} reads checkpoints itself (its own `pretrained`), '
            f'in a layout that {key}.init_cfg does not take, e.g. {how} in '
            'the config instead of giving --pretrained.')


def set_pretrained_backbone(
    cfg: Config,
    checkpoint: str,
    prefix: Optional[str] = 'auto',
    own_loading_hint: Optional[Callable[[Mapping, str, str, Optional[str]],
                                        str]] = None
) -> Tuple[str, Dict[str, Any]]:
    """Make ``checkpoint`` the pretrained weights of the config's backbone.

    The backbone's own ``pretrained`` path or URL, if its config names one,
    is cleared: mmaction2's MViT turns it into its ``init_cfg`` when built,
    which would replace this one (and download the stock weights), and
    Swin3D, UniFormer, UniFormerV2 and TimeSformer load it themselves.
    (mmaction2 1.2's VideoMAE ``VisionTransformer`` sets it as its init_cfg
    and then overwrites it: it never loads it.)

    Args:
        cfg (Config): The config, changed in place.
        checkpoint (str): A checkpoint file (or any URL MMEngine loads); a
            relative path is made absolute, ``~`` expanded.
        prefix (str, optional): The ``Pretrained`` prefix; ``'auto'`` reads
            the file and picks it with :func:`backbone_checkpoint_prefix`
            (a local file with the safe loader, its tensors mapped rather
            than read; an address through ``CheckpointLoader``).
            Defaults to 'auto'.
        own_loading_hint (Callable, optional): Called with the stock
            backbone's config, its config key, ``checkpoint`` and the key
            the file nests its weights under, when it holds no state dict;
            what it returns (the advice for a host that reads such files
            through its own ``pretrained``, or ``''``) ends the error.
            This package's tools pass (through
            ``mmadaptformer.models.set_host_pretrained``)
            ``mmadaptformer.models.own_loading_hint_of_cfg``, which reads
            the host table (this layer cannot import it).
            Defaults to None: no advice.

    Returns:
        tuple: The config key that was set and the new ``init_cfg``.

    Examples:
        >>> key, init_cfg = set_pretrained_backbone(cfg, 'vit-b.pth')
        >>> key
        'model.backbone.backbone.init_cfg'
    """
    key = backbone_init_cfg_key(cfg)
    owner = cfg.model.backbone
    if key == 'model.backbone.backbone.init_cfg':
        owner = owner.backbone
    # The work dir's copy of the config records it: later tools may run
    # from another directory, and read it with `~` expanded.
    checkpoint = full_local_path(checkpoint)
    if prefix == 'auto':
        content = _read_for_keys(checkpoint)
        host_key = key[:-len('.init_cfg')]
        scope = _scope(cfg, str(owner.get('type')))
        try:
            prefix = backbone_checkpoint_prefix(content, checkpoint)
        except NoWeightsFoundError:
            hint = own_loading_hint(
                owner, host_key, checkpoint,
                nested_weights(content)[0]) if own_loading_hint else ''
            raise PretrainedFileError(
                f'{nested_weights_message(content, checkpoint)} ' +
                (hint or conversion_advice(owner, scope, host_key, checkpoint,
                                           content))) from None
        found = unconverted_vit_layout(content, prefix)
        if found is not None and is_vit_host(owner):
            # The advice for nested weights reads their keys: a file of
            # the other modality or with adapters fits no --type of the
            # backbone's toolbox.
            weights = content.get('state_dict', content)
            raise PretrainedFileError(
                f'{checkpoint} is in the key layout of the official '
                f'VideoMAE/MAE/DeiT/AdaptFormer code or timm ({found!r}), '
                f'which {host_key} ({owner.type}) names otherwise '
                '(patch_embed.projection, its own MLP keys): only the '
                'attention and norms would load, the patch embedding and '
                'MLPs would keep their initialisation. ' + conversion_advice(
                    owner, scope, host_key, checkpoint, {'model': weights}))
    init_cfg = ConfigDict(type='Pretrained', checkpoint=checkpoint)
    if prefix is not None:
        init_cfg.prefix = prefix
    owner.init_cfg = init_cfg
    if isinstance(owner.get('pretrained', None), str):
        owner.pretrained = None
    return key, init_cfg.to_dict()
