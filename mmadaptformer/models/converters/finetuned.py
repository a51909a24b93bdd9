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
