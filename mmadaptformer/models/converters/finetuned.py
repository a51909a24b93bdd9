# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What only the official AdaptFormer formats (``'adaptformer-video'``,
``'adaptformer-image'``) need: the classifier head, with the BatchNorm of
``main_video.py``/``main_image.py``, and the adapter settings the result
needs."""
import re
from typing import Dict

from .common import BACKBONE_PREFIX
from .key_mapper import KeyMapper


def complete_classifier(conv: KeyMapper, identity_bn: bool) -> None:
    """Complete and check the head of a fine-tuned checkpoint, once
    :meth:`KeyMapper.convert_head` has moved its keys.

    Args:
        conv (KeyMapper): The conversion.
        identity_bn (bool): Give a plain Linear head identity BatchNorm
            statistics for ``BNLinearHead``; else only a note.
    """
    target = conv.target
    fc_w = conv.out.get(f'{target.head_prefix}{target.head_fc}.weight')
    bn_mean = f'{target.head_prefix}bn.running_mean'
    if fc_w is None:
        conv.notes.append(
            'The checkpoint has no classifier head; load it with '
            "prefix='backbone.' or strict=False.")
    elif bn_mean not in conv.out:
        if identity_bn:
            conv.add_identity_bn(fc_w.shape[1], fc_w.dtype)
        else:
            conv.notes.append(
                'The head is a plain Linear: use TimeSformerHead '
                '(mmaction2) or LinearClsHead (mmpretrain), not '
                'BNLinearHead.')
    conv.check_head()


#: The backbone type of each fine-tuned format, for a checkpoint of it
#: without adapters.
BACKBONE_TYPES = {'adaptformer-video': 'videomae', 'adaptformer-image': 'mae'}


def no_adapters_note(source_type: str) -> str:
    """What a fine-tuned checkpoint without adapters converts to, and the
    two ways to use it.

    Such a file (a VideoMAE or MAE fine-tuning, with a classifier ``head``)
    is told apart as an AdaptFormer one by its head alone. Given as the
    checkpoint of an AdaptFormer config, it would run with untrained
    adapters.

    Args:
        source_type (str): ``'adaptformer-video'`` or
            ``'adaptformer-image'``.

    Returns:
        str: The note.
    """
    return ('No adapters: the checkpoint is a fine-tuned ViT with a '
            'classifier head, not a trained AdaptFormer model. Give the '
            'result as the checkpoint of a config without the AdaptFormer '
            'wrapper (with BNLinearHead, or convert with --no-identity-bn '
            'for TimeSformerHead/LinearClsHead), or convert it with --type '
            f'{BACKBONE_TYPES[source_type]} for a backbone to give as '
            '--pretrained.')


def adapter_notes(conv: KeyMapper, num_blocks: int) -> None:
    """Note the ``AdaptFormer`` adapter settings the converted adapters
    need (bottleneck, learnable scale, norm, layers).

    Args:
        conv (KeyMapper): The conversion.
        num_blocks (int): Blocks of the source model.
    """
    block = f'{BACKBONE_PREFIX}{conv.target.block}.'
    pattern = re.compile(re.escape(block) + r'(\d+)\.adaptmlp\.(.+)$')
    layers: Dict[int, set] = {}
    bottlenecks: Dict[int, int] = {}
    for key, value in conv.out.items():
        match = pattern.match(key)
        if match:
            index, name = int(match.group(1)), match.group(2)
            layers.setdefault(index, set()).add(name)
            if name == 'down_proj.weight':
                bottlenecks[index] = value.shape[0]
    if not layers:
        # A pre-training checkpoint has none to have lost, and one without
        # a head is said to be headless by complete_classifier.
        head = f'{conv.target.head_prefix}{conv.target.head_fc}.weight'
        if conv.source_type in BACKBONE_TYPES and head in conv.out:
            conv.notes.append(no_adapters_note(conv.source_type))
        return
    adapter = {}
    values = [bottlenecks[i] for i in sorted(bottlenecks)]
    adapter['bottleneck'] = values[0] if len(set(values)) == 1 else values
    names = set.union(*layers.values())
    if 'scale' in names:
        adapter['scale'] = 'learnable'
    if 'norm.weight' in names:
        adapter['norm'] = "'in' or 'out', as trained"
    cfg = ', '.join(f'{k}={v!r}' if k != 'norm' else f'{k}={v}'
                    for k, v in adapter.items())
    note = f'Adapters found: build AdaptFormer with adapter=dict({cfg})'
    if 'scale' not in names:
        note += (' and the scale used in training (not stored; the official '
                 'recipes use 0.1)')
    if sorted(layers) != list(range(num_blocks)):
        note += f', layers={sorted(layers)}'
    conv.notes.append(note + '.')
