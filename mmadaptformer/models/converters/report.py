# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a conversion tells its user: the notes on the settings the
converted keys need, and the report of dropped, added, missing and
unmapped keys."""
import re
from collections import OrderedDict
from typing import Dict, List

from mmadaptformer.utils.official_vit_keys import (PRETRAIN_PREFIXES,
                                                   SWIN_STAGE_KEY,
                                                   other_backbone)
from .common import (BACKBONE_PREFIX, MMACTION_TARGET, VIDEO_TYPES,
                     ConversionResult)
from .key_mapper import KeyMapper

# Known keys without a counterpart here, with the reason given to users.
UNSUPPORTED_HINTS = (
    (re.compile(r'^embeddings\.\d+$'),
     'VPT prompt tokens (the official --vpt baseline) are not supported'),
    (re.compile(r'^(dist_token|head_dist\.)'),
     'distilled (DeiT) ViTs are not supported'),
    (re.compile(r'^pre_logits\.'),
     'a representation (pre-logits) layer is not supported'),
    (re.compile(r'^head\.0\.(weight|bias)$'),
     'the head BatchNorm is affine; BNLinearHead expects affine=False'),
    (SWIN_STAGE_KEY,
     "a Swin Transformer's stages (layers.N.blocks.M), not a plain ViT: "
     "start from mmpretrain's model-zoo Swin weights"),
)


def target_notes(conv: KeyMapper, pretrain: bool) -> None:
    """Say which backbone settings the converted keys need, and how to keep
    a trained final norm that ``final_norm='pooled'`` dropped although the
    checkpoint has no pooled-feature norm (it was trained without mean
    pooling).

    Args:
        conv (KeyMapper): The conversion.
        pretrain (bool): Whether the source is a pre-training checkpoint.
    """
    out = conv.out
    pooled = f'{BACKBONE_PREFIX}{conv.target.pooled_norm}.weight'
    if conv.target is MMACTION_TARGET:
        model = 'mmaction2 VisionTransformer'
        pooled_setting = 'use_mean_pooling=True (the default)'
        final_setting = 'use_mean_pooling=False'
        if pooled in out:
            setting = pooled_setting
        elif BACKBONE_PREFIX + 'norm.weight' in out:
            setting = final_setting
        else:
            setting = None
    else:
        model = 'mmpretrain VisionTransformer'
        pooled_setting = "out_type='avg_featmap', final_norm=False"
        final_setting = "out_type='cls_token', final_norm=True (the defaults)"
        has_ln1 = BACKBONE_PREFIX + 'ln1.weight' in out
        has_ln2 = pooled in out
        if has_ln2 and not has_ln1:
            setting = pooled_setting
        elif has_ln1 and not has_ln2:
            setting = final_setting
        else:
            setting = None
    if setting:
        conv.notes.append(f'Build the {model} with {setting}.')
    dropped = [
        conv.source_key(f'norm.{name}') for name in ('weight', 'bias')
        if conv.source_key(f'norm.{name}') in conv.dropped
    ]
    if dropped and pooled not in out:
        default = (', the default for video checkpoints'
                   if conv.source_type in VIDEO_TYPES else '')
        conv.notes.append(
            f'The trained final norm ({", ".join(dropped)}) was dropped: '
            f"--final-norm pooled (final_norm='pooled'{default}) drops it "
            'for mean pooling, but the checkpoint has no '
            f'{conv.source_key("fc_norm")} to pool through, so it was '
            'trained without mean pooling. To keep it, convert with '
            "--final-norm keep (final_norm='keep') and build the "
            f'{model} with {final_setting}.')
    if pretrain:
        conv.notes.append(
            'Backbone-only checkpoint: give it as --pretrained to '
            'tools/train.py and tools/test.py, which set the frozen '
            "backbone's init_cfg=dict(type='Pretrained', "
            "checkpoint=<file>, prefix='backbone.').")


def unsupported_hint(key: str) -> str:
    """Why a known but unsupported key cannot be converted, or ''."""
    for pattern, hint in UNSUPPORTED_HINTS:
        if pattern.search(key):
            return f' ({hint})'
    return ''


#: Where a backbone's keys may start in a file: at its top level, under a
#: whole model's ``backbone.``, under a pre-training file's ``encoder.``.
_BACKBONE_ROOTS = ('', 'backbone.', PRETRAIN_PREFIXES[0])


def other_backbone_note(keys: List[str]) -> str:
    """Why unmapped ``keys`` cannot be converted, when they are another
    backbone's (:func:`~mmadaptformer.utils.official_vit_keys.
    other_backbone`: e.g. a bare mmpretrain PoolFormer, which names its
    patch embedding as the official ViTs do), or ''."""
    names = dict.fromkeys(keys)
    if not any(other_backbone(names, root) for root in _BACKBONE_ROOTS):
        return ''
    return ('They are the weights of another backbone, not of a plain ViT '
            '(stages or stacks that are no ViT blocks: Swin\'s '
            'layers.N.blocks.M, PoolFormer\'s or RIFormer\'s network.N, '
            'HiViT\'s blocks without attention): no --type of this '
            'converter takes them. Load them with the toolbox\'s own model '
            'of that backbone (its model-zoo config).')


def unmapped_message(result: ConversionResult) -> str:
    """The error message of a conversion with unmapped keys."""
    keys = '\n'.join(f'  {k}{unsupported_hint(k)}' for k in result.unmapped)
    note = other_backbone_note(result.unmapped)
    return (f'{len(result.unmapped)} key(s) of the {result.source_type} '
            f'checkpoint could not be mapped:\n{keys}\n' +
            (note or f'They have no counterpart in the models a '
             f'{result.source_type} checkpoint converts to.'))


def missing_message(result: ConversionResult) -> str:
    """What a conversion with keys missing from their blocks says."""
    return (f'The {result.source_type} checkpoint lacks '
            f'{len(result.missing)} key(s) that its other blocks hold: '
            f'{", ".join(result.missing)}. The converted checkpoint lacks '
            'them too, and models refuse to load it (a missing block tensor '
            'would keep its initial value). Convert an undamaged copy of '
            'the checkpoint.')


def compress_keys(keys: List[str]) -> str:
    """List keys with block indices folded, e.g. ``blocks.*.norm1.weight
    (x12)``, so that every key is covered and the list stays short."""
    counts: Dict[str, int] = OrderedDict()
    for key in keys:
        pattern = re.sub(r'(?<=\.)\d+(?=\.)', '*', key)
        counts[pattern] = counts.get(pattern, 0) + 1
    return ', '.join(p if n == 1 else f'{p} (x{n})' for p, n in counts.items())


def format_report(result: ConversionResult) -> str:
    """A short human-readable report of a conversion.

    Args:
        result (ConversionResult): What :func:`convert_state_dict` returned.

    Returns:
        str: Several lines: counts, dropped, added, missing and unmapped
        keys, and the notes when no key is unmapped (otherwise nothing is
        written for them to be about).
    """
    lines = [
        f'Source type: {result.source_type}',
        f'Converted keys: {len(result.state_dict)}',
    ]
    if result.dropped:
        lines.append(f'Dropped {len(result.dropped)} key(s):')
        by_reason: Dict[str, List[str]] = OrderedDict()
        for key, reason in result.dropped.items():
            by_reason.setdefault(reason, []).append(key)
        for reason, keys in by_reason.items():
            lines.append(f'  - {compress_keys(keys)}: {reason}')
    if result.added:
        lines.append(f'Added {len(result.added)} key(s):')
        for key, reason in result.added.items():
            lines.append(f'  + {key}: {reason}')
    if result.missing:
        lines.append(f'Missing {len(result.missing)} key(s) that the other '
                     'blocks hold (a damaged checkpoint: models refuse the '
                     'result):')
        lines.extend(f'  ? {k}' for k in result.missing)
    if result.unmapped:
        lines.append(f'Unmapped {len(result.unmapped)} key(s):')
        lines.extend(f'  ! {k}{unsupported_hint(k)}' for k in result.unmapped)
        note = other_backbone_note(result.unmapped)
        if note:
            lines.append(note)
        # Nothing is written: notes on how to use the result would mislead
        # (a Swin file was told to be given as a fine-tuned ViT).
        return '\n'.join(lines)
    lines.extend(f'Note: {note}' for note in result.notes)
    return '\n'.join(lines)
