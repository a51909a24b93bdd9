# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a frozen-host wrapper refuses to load, besides another backbone's
adapters: a trained model given as the pretrained backbone, and a full
checkpoint with holes."""
import contextlib
import contextvars
from typing import Iterable, Iterator, Mapping, Tuple

from mmengine.logging import print_log
from torch import nn

from ...utils.adapter_only_fit import loading_adapter_only, loading_source
from ...utils.checkpoint_source import FROZEN_HOST_FORMAT
from ...utils.model_keys import holds_under_half_the_blocks, index_keys
from ...utils.pretrained_backbone import PretrainedFileError
from ...utils.state_dict_check import (StateDictMismatchError, fresh_keys,
                                       listing)
from ...utils.vit_modality import modality_mismatch_cause
from .frozen_host_record import FROZEN_HOST_KEY, differing_frozen_keys
from .trained_part_check import trained_part_keys

__all__ = [
    'refuse_trained_model', 'refuse_full_with_holes', 'completing_recorded'
]

# The frozen-host records of the adapter-only checkpoint being loaded,
# while the host's pretrained file loads to complete it.
_RECORDS: contextvars.ContextVar[Tuple[Mapping, ...]] = \
    contextvars.ContextVar('mmadaptformer_completing_records', default=())


@contextlib.contextmanager
def completing_recorded(records: Iterable[Mapping]) -> Iterator[None]:
    """While the host's pretrained file loads to complete an adapter-only
    checkpoint, a trained model whose frozen tensors are those one of the
    checkpoint's ``records`` fingerprints is accepted as that file
    (:func:`refuse_trained_model`): its frozen backbone loads, and the
    checkpoint's trained part replaces its own.

    A run fine-tuned from a whole model (``load_from``) records that model
    as its frozen backbone; ``--pretrained`` of it completes the run's
    adapter-only checkpoints. A trained model of another backbone is still
    refused.

    Only records of the frozen backbone's fingerprints count (format
    :data:`~mmadaptformer.utils.checkpoint_source.FROZEN_HOST_FORMAT`): a
    merged checkpoint's record of the settings alone fingerprints nothing.

    Args:
        records (Iterable): The checkpoint's records of its frozen
            backbones (e.g. :func:`~mmadaptformer.utils.checkpoint_source.
            frozen_records`' values); anything else in it is ignored.
    """
    token = _RECORDS.set(
        tuple(
            r for r in records if isinstance(r, Mapping)
            and r.get('format') == FROZEN_HOST_FORMAT))
    try:
        yield
    finally:
        _RECORDS.reset(token)


def refuse_trained_model(wrapper: nn.Module, state_dict: Mapping,
                         path: str) -> None:
    """Refuse a pretrained file that holds a trained part (adapters,
    prompts): a trained model, not a backbone.

    The attached modules are part of the host while its file is checked
    (they are fresh there), and set aside while it loads non-strictly:
    their tensors in the file would be dropped without a word, and
    fresh ones trained or tested in their place.
    """
    keys = trained_part_keys(wrapper, state_dict)
    if not keys:
        return
    part = wrapper.trained_part
    records = _RECORDS.get()
    checkpoint = next(
        (r['source']
         for r in records if r.get('source')), None) or loading_source()
    checkpoint = f' {checkpoint}' if checkpoint else ''
    differ = [differing_frozen_keys(record, state_dict) for record in records]
    if [] in differ:
        print_log(
            f'{path} holds {len(keys)} tensors of trained {part}s: loading '
            f'its frozen backbone only, which the {part}-only checkpoint'
            f'{checkpoint} records as the one its {part}s were trained on; '
            f'its {part}s replace these.',
            logger='current')
        return
    if records:
        trained_on = [r.get('pretrained') for r in records]
        trained_on = next((t for t in trained_on if t), None)
        raise PretrainedFileError(
            f'{path} holds {len(keys)} tensors of trained {part}s (e.g. '
            f'{keys[0]}): it is a trained {type(wrapper).__name__} model, '
            f'and not the frozen backbone the {part}-only checkpoint'
            f'{checkpoint} records either: {len(differ[0] or [])} of its '
            'frozen tensors differ. Give the file its '
            f'{part}s were trained on'
            f'{", " + trained_on + "," if trained_on else ""} as '
            f'--pretrained ({wrapper.pretrained_key}).')
    other_kind = modality_mismatch_cause(wrapper.backbone.state_dict(),
                                         state_dict)
    if other_kind is not None:
        raise PretrainedFileError(
            f'{path} holds {len(keys)} tensors of trained {part}s (e.g. '
            f'{keys[0]}): it is a trained {type(wrapper).__name__} model, '
            f'not a pretrained backbone; {other_kind}.')
    raise PretrainedFileError(
        f'{path} holds {len(keys)} tensors of trained {part}s (e.g. '
        f'{keys[0]}): it is a trained {type(wrapper).__name__} model (a '
        'full checkpoint, e.g. converted with '
        'tools/model_converters/convert_official.py or written by '
        'merge_adapters.py), not a pretrained backbone. --pretrained '
        f'and {wrapper.pretrained_key} load the frozen backbone only: '
        f'these {part}s would be dropped and fresh ones used in their '
        'place. Give a trained model as the checkpoint instead '
        f'(tools/test.py CONFIG {path}, or load_from={path!r} to train '
        'on from it, also on other classes: a head of another number of '
        "classes keeps this config's initialisation), and as --pretrained "
        'the backbone it was trained on.')


def refuse_full_with_holes(wrapper: nn.Module, state_dict: Mapping,
                           prefix: str) -> bool:
    """Refuse a full checkpoint that lacks some of the host's tensors.

    A state dict with some of the host's tensors and no
    :data:`FROZEN_HOST_KEY` record is either an adapter-only checkpoint
    saved before the records existed, whose host tensors are the few
    trained with the adapters (``extra_trainable``: ``fc_norm``, the
    patch embedding, norms or biases), or a full checkpoint with holes
    (another layout, e.g. a ``fc_norm`` where the model has ``ln1``, or
    a damaged file), whose missing tensors would keep the model's
    initial values. They differ in the blocks: parameter-efficient
    training leaves their weight matrices frozen, which hold nearly all
    of their elements, so an adapter-only checkpoint holds a small part
    of them and a full one nearly all. The rule
    (:func:`~mmadaptformer.utils.model_keys.holds_under_half_the_blocks`,
    which the model-level check of a record-less file shares): at least
    half of the elements of the host's block tensors (of all its tensors
    for a host without blocks) make a full checkpoint. A full checkpoint
    that lacks only a final norm and holds no key the model lacks is a
    pre-training file, not refused; nor is one that lacks integer buffers
    (:func:`~mmadaptformer.utils.model_keys.index_keys`: index tables the
    host computes itself).

    Returns:
        bool: Whether it is adapter-only (by its meta or its blocks), which
        the wrapper's load refuses unless its caller checks the meta
        record (:func:`.load_guard.refuse_recordless`); False for the
        pre-training file.
    """
    if loading_adapter_only():
        # Its meta says so: not a full checkpoint, whatever it holds.
        return True
    host, own = wrapper.backbone, set(wrapper.host_keys)
    if holds_under_half_the_blocks(host, own.__contains__,
                                   lambda k: prefix + k in state_dict):
        return True
    # Its integer buffers (index tables) the host keeps its own of.
    spare = index_keys(host)
    missing = [
        prefix + k for k in wrapper.host_keys
        if prefix + k not in state_dict and k not in spare
    ]
    trained = set(trained_part_keys(wrapper, state_dict, prefix))
    unknown = [
        key for key in state_dict if key.startswith(prefix)
        and key[len(prefix):] not in own and key not in trained
    ]
    fresh = fresh_keys(host)
    if not unknown and all(key[len(prefix):] in fresh for key in missing):
        # Only a final norm, which pre-training files lack (fc_norm of a
        # mean-pooling ViT): it starts as the identity, with the load's
        # warning, as through --pretrained.
        return False
    source = loading_source()
    being_loaded = f'the state dict of {source}' if source else \
        'the state dict being loaded'
    lines = [
        f'{type(wrapper).__name__}: {being_loaded} is a full '
        f'checkpoint of its {type(host).__name__} (it holds '
        f'{len(wrapper.host_keys) - len(missing)} of the '
        f'{len(wrapper.host_keys)} backbone tensors, the blocks\' weights '
        f'included, and no {FROZEN_HOST_KEY} record of an adapter-only '
        f'one) that lacks {len(missing)} of them: '
        f'{listing(missing)}. They would keep this model\'s initial '
        'values; loading stopped here.'
    ]
    if unknown:
        lines.append(f'It holds {len(unknown)} backbone keys that this '
                     f'model lacks: {listing(unknown)}.')
    lines.append(
        'It was probably saved with another layout of the backbone: '
        'e.g. a ViT with fc_norm (global pooling) needs out_type='
        "'avg_featmap', final_norm=False in mmpretrain and "
        'use_mean_pooling=True in mmaction2, one with the final norm '
        "(norm, ln1) out_type='cls_token', final_norm=True or "
        'use_mean_pooling=False. Build the model with the settings the '
        'checkpoint was saved with (tools/model_converters/'
        'convert_official.py prints those a converted checkpoint '
        'needs); if block tensors are missing, the file is damaged: '
        'save or convert it again. A checkpoint of the backbone alone '
        '(pre-training) is given as --pretrained (the backbone\'s '
        'init_cfg), where a missing final norm starts as the '
        'identity.')
    raise StateDictMismatchError('\n'.join(lines))
