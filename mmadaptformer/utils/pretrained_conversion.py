# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which converter makes a file into a backbone's pretrained weights.

``--pretrained`` refuses a file whose weights MMEngine's ``Pretrained``
initialiser would not find (nested under ``'model'``, as the official DeiT,
Swin, MAE, VideoMAE and AdaptFormer code and timm save them) or would load
only in part (the official ViT key layout). The refusal names the converter
for the config's backbone: this package's ``convert_official.py`` for
mmaction2's and mmpretrain's ``VisionTransformer``, else the installed
mmpretrain's own ``tools/model_converters`` script where it ships one for
the backbone, else none (and says so).
"""
import importlib.util
import os
import os.path as osp
from typing import Any, List, Mapping, Optional

__all__ = [
    'CONVERT_VIT', 'conversion_advice', 'is_vit_host', 'mmpretrain_converter',
    'nested_weights_message', 'tensor_keys', 'vit_type_flag'
]

#: The command that converts official and timm ViT checkpoints.
CONVERT_VIT = 'python tools/model_converters/convert_official.py'
#: Where training scripts other than MMEngine's nest a model's weights
#: (the official DeiT, Swin, MAE, VideoMAE and AdaptFormer code and timm:
#: ``'model'``; DeepSpeed: ``'module'``; EMA copies).
_NESTING_KEYS = ('model', 'module', 'model_ema', 'state_dict_ema')


def tensor_keys(weights: Any) -> List[str]:
    """The names of the tensors in ``weights`` ([] for a non-mapping).

    Args:
        weights (Any): A state dict, or anything else a file holds.

    Returns:
        list[str]: The keys whose values have a ``shape``.
    """
    if not isinstance(weights, Mapping):
        return []
    return [k for k, v in weights.items() if hasattr(v, 'shape')]


def nested_weights_message(checkpoint: Mapping, filename: str) -> str:
    """What a checkpoint dict without tensors at its top level or under
    ``'state_dict'`` holds, in one sentence.

    Args:
        checkpoint (Mapping): The file's dict.
        filename (str): The file, for the message.

    Returns:
        str: The key its weights are nested under and that nothing of it
        would load, or its top-level keys.
    """
    nested = next((k for k in _NESTING_KEYS if tensor_keys(checkpoint.get(k))),
                  None)
    if nested is None:
        return (f'{filename} has no "state_dict" and no tensors at its top '
                f'level (its keys: {sorted(map(str, checkpoint))[:8]}).')
    keys = tensor_keys(checkpoint[nested])
    return (f'{filename} holds its weights under {nested!r} ({len(keys)} '
            f'tensors, e.g. {keys[0]!r}), as the official training code '
            '(DeiT, Swin, MAE, VideoMAE, AdaptFormer) and timm save them; '
            "MMEngine's Pretrained initialiser reads only \"state_dict\" or "
            'the top level, so nothing of it would load.')


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


def conversion_advice(backbone: Mapping, scope: Optional[str], key: str,
                      checkpoint: str) -> str:
    """How to turn ``checkpoint``, whose weights are nested where MMEngine
    does not look, into pretrained weights for ``backbone``.

    Args:
        backbone (Mapping): The backbone's config.
        scope (str, optional): The toolbox its type comes from.
        key (str): Its config key, e.g. ``'model.backbone.backbone'``.
        checkpoint (str): The file.

    Returns:
        str: One or two sentences: the converter to run, or that none
        exists here or in the installed mmpretrain.
    """
    host_type = str(backbone.get('type'))
    name = host_type.split('.')[-1]
    if is_vit_host(backbone):
        return (f'Convert it first: {CONVERT_VIT} {checkpoint} CONVERTED.pth '
                f'{vit_type_flag(scope)}, and give CONVERTED.pth as '
                '--pretrained.')
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
