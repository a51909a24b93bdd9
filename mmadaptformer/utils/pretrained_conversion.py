# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which converter makes a file into a backbone's pretrained weights.

``--pretrained`` refuses a file whose weights MMEngine's ``Pretrained``
initialiser would not find (nested under ``'model'``, as the official DeiT,
Swin, MAE, VideoMAE and AdaptFormer code and timm save them) or would load
only in part (the official ViT key layout). The refusal names the converter
for the config's backbone: this package's ``convert_official.py`` for
mmaction2's and mmpretrain's ``VisionTransformer``, else the installed
mmpretrain's own ``tools/model_converters`` script where it ships one for
the backbone, else none (and says so). For a ``VisionTransformer`` the
nested weights' keys pick the ``--type`` (:func:`vit_source_kind`): a video
or an image backbone, or a trained AdaptFormer model, which is no
``--pretrained`` file at all.
"""
import importlib.util
import os
import os.path as osp
from typing import Any, Mapping, Optional, Tuple

from .checkpoint_loading import safe_torch_load
from .local_files import is_local
from .official_vit_keys import (PATCH_EMBED_KEY, TOOLBOX_PATCH_EMBED_KEY,
                                official_vit_layout)
from .weights_nesting import (find_nested_weights, nested_weights_cause,
                              tensor_keys, unwrap_command)

__all__ = [
    'CONVERT_VIT', 'conversion_advice', 'is_vit_host', 'mmpretrain_converter',
    'nested_weights', 'nested_weights_message', 'tensor_keys',
    'vit_source_kind', 'vit_type_flag'
]

#: The command that converts official and timm ViT checkpoints.
CONVERT_VIT = 'python tools/model_converters/convert_official.py'


def nested_weights(checkpoint: Any) -> Tuple[Optional[str], Any]:
    """The key a checkpoint dict nests its weights under and those weights
    (:func:`~.weights_nesting.find_nested_weights`, the detection of every
    path: a whole checkpoint under the key gives its ``'state_dict'``).

    Args:
        checkpoint (Any): What the file holds; its ``'state_dict'`` is
            looked in where it has one, as MMEngine does.

    Returns:
        tuple: The key that holds a dict of tensors (``'model'``,
        ``'module'``, ``'model_ema'`` and ``'state_dict_ema'`` first) and
        what it holds; or ``(None, None)``.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, Mapping) else None
    nested, weights, _ = find_nested_weights(state)
    return nested, weights


def nested_weights_message(checkpoint: Mapping, filename: str) -> str:
    """What a checkpoint dict without tensors at its top level or under
    ``'state_dict'`` holds, in one sentence, for ``--pretrained``.

    Args:
        checkpoint (Mapping): The file's dict.
        filename (str): The file, for the message.

    Returns:
        str: That it cannot be the pretrained weights, with the cause every
        path words alike (:func:`~.weights_nesting.nested_weights_cause`;
        the caller adds the advice), or its top-level keys.
    """
    cause = nested_weights_cause(
        checkpoint.get('state_dict', checkpoint), advice=None)
    if cause is None:
        return (f'{filename} has no "state_dict" and no tensors at its top '
                f'level (its keys: {sorted(map(str, checkpoint))[:8]}).')
    return (f"{filename} cannot be loaded as a backbone's pretrained "
            f'weights: {cause}, so nothing of it would load.')


def is_vit_host(backbone: Mapping) -> bool:
    """Whether a backbone config is mmaction2's or mmpretrain's own
    ``VisionTransformer``, which ``convert_official.py`` writes for.

    Args:
        backbone (Mapping): The backbone's config.

    Returns:
        bool: Its type's class name is ``VisionTransformer``.
    """
    kind = backbone.get('type')
    return isinstance(kind, str) and kind.split('.')[-1] == 'VisionTransformer'


def mmpretrain_converter(host_type: str) -> Optional[str]:
    """The installed mmpretrain's converter script for a backbone type,
    e.g. ``deit3_to_mmpretrain.py`` for ``DeiT3``, matched by name among
    the ``tools/model_converters`` it installs (``mmpretrain/.mim``; an
    editable install links it there too).

    Args:
        host_type (str): The backbone's type, e.g. ``'mmpretrain.DeiT3'``.

    Returns:
        str | None: The script's path, or None where mmpretrain ships none
        for it (in mmpretrain 1.2: ``VisionTransformer``,
        ``DistilledVisionTransformer``, ``SwinTransformer``, ...).
    """
    spec = importlib.util.find_spec('mmpretrain')
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = osp.join(
        list(spec.submodule_search_locations)[0], '.mim', 'tools',
        'model_converters')
    if not osp.isdir(folder):
        return None
    name = host_type.split('.')[-1].lower()
    starts = (f'{name}_to_', f'{name}2')
    return next(
        (osp.join(folder, script) for script in sorted(os.listdir(folder))
         if script.endswith('.py') and script.startswith(starts)), None)


def vit_type_flag(scope: Optional[str]) -> str:
    """The ``convert_official.py --type`` that writes a backbone-only file
    for the ``VisionTransformer`` of a toolbox.

    Args:
        scope (str, optional): ``'mmaction'``, ``'mmpretrain'`` or None
            (not known).

    Returns:
        str: The flag, with which checkpoints it is for.
    """
    if scope == 'mmaction':
        return ("--type videomae (mmaction2's VisionTransformer: the "
                'VideoMAE layout)')
    if scope == 'mmpretrain':
        return ("--type mae (mmpretrain's VisionTransformer: MAE, DeiT and "
                'timm ViTs)')
    return ('--type videomae for a video backbone, --type mae for an image '
            'one')


_MODALITY = dict(mmaction='video', mmpretrain='image')
_SCOPES = {modality: scope for scope, modality in _MODALITY.items()}
_TOOLBOXES = dict(video='mmaction2', image='mmpretrain')


def vit_source_kind(weights: Any) -> Tuple[Optional[str], bool, str]:
    """What the keys of official or timm ViT weights show, as far as the
    ``convert_official.py --type`` for them goes.

    Args:
        weights (Any): The weights (a mapping of tensors).

    Returns:
        tuple: ``(modality, adapters, evidence)``: ``'video'`` (VideoMAE
        pre-training ``encoder.`` keys, or a Conv3d ``patch_embed.proj``),
        ``'image'`` (a Conv2d one) or None where the keys do not tell;
        whether it holds AdaptFormer adapters (``adaptmlp``); and a phrase
        naming the key that shows the modality (``''`` if none).
    """
    layout = official_vit_layout({k: weights[k] for k in tensor_keys(weights)})
    adapters = bool(layout.adapters)
    if layout.pretrain:
        return 'video', adapters, (
            f'VideoMAE pre-training keys ({layout.pretrain[0]!r})')
    if layout.modality is not None:
        shape = tuple(layout.patch_embed.shape)
        return layout.modality, adapters, (
            f'a Conv{len(shape) - 2}d patch embedding, {PATCH_EMBED_KEY!r} '
            f'of shape {shape}')
    return None, adapters, ''


def _toolbox_key(weights: Any) -> Optional[str]:
    """The key of ``weights`` that shows they are in mmaction2's or
    mmpretrain's own ViT layout (:data:`TOOLBOX_PATCH_EMBED_KEY`, under any
    prefix such as ``backbone.``), or None."""
    return next((k
                 for k in tensor_keys(weights) if k == TOOLBOX_PATCH_EMBED_KEY
                 or k.endswith('.' + TOOLBOX_PATCH_EMBED_KEY)), None)


def _vit_advice(scope: Optional[str],
                checkpoint: str,
                weights: Any,
                nested: Optional[str] = None) -> str:
    """:func:`conversion_advice` for a ``VisionTransformer``: the one
    ``--type`` the weights and the backbone fit, or why none does; for
    weights nested under ``nested`` in the toolboxes' own layout, the
    command that takes them out unconverted (converting would drop the
    head and rebuild a video ``pos_embed`` for 224 px and 8 frames)."""
    own = _toolbox_key(weights) if nested is not None else None
    if own is not None:
        return ("Its weights already carry the toolboxes' own names "
                f'({own!r}): take them out as they are, converting nothing: '
                f'python {unwrap_command(nested, checkpoint, "CONVERTED.pth")}'
                ', and give CONVERTED.pth as --pretrained.')
    host = _MODALITY.get(scope)
    file, adapters, evidence = vit_source_kind(weights)
    if file is not None and host is not None and file != host:
        article = 'a' if file == 'video' else 'an'
        vit, other = (f"{_TOOLBOXES[m]}'s VisionTransformer"
                      for m in (host, file))
        return (f'It is {article} {file} checkpoint ({evidence}), but this '
                f'backbone is {vit}, which takes {host} weights; '
                f'convert_official.py converts {file} checkpoints for '
                f'{other} only. Give --pretrained {host} weights, or use this '
                f'file with a config built on {other}.')
    modality = file or host
    if adapters:
        kind = f'adaptformer-{modality}' if modality else \
            'adaptformer-video or adaptformer-image'
        return ('It holds trained AdaptFormer adapters (an official '
                f'AdaptFormer model): convert it with {CONVERT_VIT} '
                f'{checkpoint} CONVERTED.pth --type {kind} and give '
                'CONVERTED.pth as the checkpoint (tools/test.py CONFIG '
                'CONVERTED.pth, load_from), not as --pretrained, which loads '
                'the frozen backbone only.')
    # Where neither the keys nor the toolbox tell, vit_type_flag names
    # both types, by the backbone's modality.
    return (f'Convert it first: {CONVERT_VIT} {checkpoint} CONVERTED.pth '
            f'{vit_type_flag(_SCOPES.get(modality))}, and give CONVERTED.pth '
            'as --pretrained.')


def _read_weights(checkpoint: str) -> Tuple[Optional[str], Any]:
    """The key and nested weights of a local file (tensors mapped, not
    read), or ``(None, None)`` for an address."""
    if not is_local(checkpoint):
        return None, None
    return nested_weights(
        safe_torch_load(checkpoint, map_location='cpu', mmap=True))


def conversion_advice(backbone: Mapping,
                      scope: Optional[str],
                      key: str,
                      checkpoint: str,
                      content: Any = None) -> str:
    """How to turn ``checkpoint``, whose weights are nested where MMEngine
    does not look, into pretrained weights for ``backbone``.

    For a ``VisionTransformer``, the nested weights' keys pick the
    converter's ``--type`` (:func:`vit_source_kind`): ``videomae`` for a
    video file and mmaction2's backbone, ``mae`` for an image file and
    mmpretrain's; a file of the other modality is named as such, and one
    with adapters is a trained model, to give as a checkpoint. Where the
    keys do not tell, the backbone's toolbox does.

    Args:
        backbone (Mapping): The backbone's config.
        scope (str, optional): The toolbox its type comes from.
        key (str): Its config key, e.g. ``'model.backbone.backbone'``.
        checkpoint (str): The file.
        content (Any): What the file holds, as the caller read it. Defaults
            to None: a local file is read here (its tensors mapped, not
            read), an address is not.

    Returns:
        str: One or two sentences: the converter to run, or that none
        exists here or in the installed mmpretrain.
    """
    host_type = str(backbone.get('type'))
    name = host_type.split('.')[-1]
    if is_vit_host(backbone):
        nested, weights = _read_weights(checkpoint) if content is None \
            else nested_weights(content)
        return _vit_advice(scope, checkpoint, weights, nested)
    script = mmpretrain_converter(host_type) if scope == 'mmpretrain' else None
    if script is not None:
        return (f"Convert it first with mmpretrain's converter for {name}: "
                f'python {script} {checkpoint} CONVERTED.pth, and give '
                'CONVERTED.pth as --pretrained.')
    return (f'{key} is a {name}: neither this package (convert_official.py '
            "writes for mmaction2's and mmpretrain's VisionTransformer) nor "
            "the installed mmpretrain's tools/model_converters converts "
            f"checkpoints for it. Give --pretrained weights in {name}'s own "
            "key layout (e.g. the toolbox's model-zoo checkpoint); if the "
            "nested weights already are, save them as {'state_dict': "
            'WEIGHTS}.')
