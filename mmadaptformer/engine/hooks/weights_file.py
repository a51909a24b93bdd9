# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a checkpoint without training state is, for the refusal to resume
from it.

MMEngine's ``Runner.resume`` reads the epoch and iteration a run reached
from the checkpoint's ``meta`` (``KeyError: 'meta'`` without them). Only
training writes them: a backbone's pretrained weights (one that
``tools/model_converters/convert_official.py`` converted, a bare state
dict) or a model's weights saved on their own hold none. Such a file starts
a new run, through ``--pretrained`` or ``load_from``; :func:`untrained_file`
says which, for what the file holds: never ``--pretrained`` for a file
that holds adapters (or prompts), which it refuses.
"""
from typing import Any, Iterable, List, Mapping, Optional

import torch
from torch import nn

from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.models.backbones.trained_part_check import trained_part_keys
from mmadaptformer.utils.adapter_only_fit import ADAPTER_META_KEY
from mmadaptformer.utils.control_characters import escape_controls
from mmadaptformer.utils.model_keys import BACKBONE_PREFIX
from mmadaptformer.utils.trained_part_fit import trained_part_name
from mmadaptformer.utils.weights_nesting import (holds_own_names,
                                                 nested_weights_cause,
                                                 tensor_keys)

__all__ = [
    'TRAINING_STATE_KEYS', 'trained_part_tensors', 'untrained_file',
    'weight_keys'
]

#: The ``meta`` entries that ``Runner.resume`` reads and training writes.
TRAINING_STATE_KEYS = ('epoch', 'iter')
_DDP = 'module.'


def weight_keys(checkpoint: Mapping) -> List[str]:
    """The names of the tensors that MMEngine would load from a checkpoint
    (those under ``'state_dict'``, else at its top level), without DDP's
    ``module.``.

    Args:
        checkpoint (Mapping): The loaded checkpoint.

    Returns:
        list[str]: The names, in the file's order.
    """
    return [
        k[len(_DDP):] if k.startswith(_DDP) else k
        for k in tensor_keys(checkpoint.get('state_dict', checkpoint))
    ]


def trained_part_tensors(model: nn.Module, keys: Iterable[str]) -> List[str]:
    """The keys among ``keys`` that hold a trained part (adapters,
    prompts): the model's own, or its attached modules' in blocks the
    model leaves out (:func:`~mmadaptformer.models.backbones.
    trained_part_check.trained_part_keys`, the check that refuses such a
    file as ``--pretrained``: it is a trained model, not a backbone).

    Args:
        model (nn.Module): The model (unwrapped).
        keys (Iterable[str]): A file's keys, as the model names its own.

    Returns:
        list[str]: Those keys, each once, in the order of ``keys``.
    """
    state = dict.fromkeys(keys)
    found = set()
    for name, module in model.named_modules():
        if isinstance(module, FrozenHostWrapper):
            found.update(
                trained_part_keys(module, state, f'{name}.' if name else ''))
    return [key for key in state if key in found]


def _trained_model(keys: List[str], trained: List[str], model: nn.Module,
                   held: str, file: str, work_dir: str) -> str:
    """What a file that holds a trained part is and how to train from it:
    ``--pretrained`` refuses it."""
    part = trained_part_name(model)
    given = set(keys)
    lacking = [
        k for k, v in model.state_dict().items()
        if isinstance(v, torch.Tensor) and k not in given
    ]
    if not lacking:
        return (f"a trained model's weights ({len(keys)} tensors of its "
                f'{held}, its {part}s among them, e.g. {trained[0]}). To '
                f'train from them, load them: tools/train.py CONFIG '
                f'--cfg-options load_from={file} (the whole model; '
                f'--pretrained takes a backbone without {part}s)')
    return (f'a file of {part} tensors without the rest of the model '
            f'({len(keys)} tensors of its {held}: {len(trained)} of '
            f'{part}s, e.g. {trained[0]}, and none of {len(lacking)} '
            f'others, e.g. {lacking[0]}) and without the record by which an '
            f'adapter-only checkpoint loads on its frozen backbone (a '
            f"'meta' with {ADAPTER_META_KEY!r}), so nothing loads it as it "
            f'is. To train from them, load the checkpoint that training '
            f'wrote them in (it keeps the record): tools/train.py CONFIG '
            f'{work_dir}--pretrained BACKBONE --cfg-options '
            'load_from=EPOCH_N.pth')


def _what_and_how(checkpoint: Mapping, meta: Mapping, model: nn.Module,
                  file: str, work_dir: str) -> str:
    """What the file holds and how to start a run from it."""
    keys = weight_keys(checkpoint)
    parts = [name for name, _ in model.named_children()]
    pretrained = (f'give it as the backbone\'s pretrained weights: '
                  f'tools/train.py CONFIG --pretrained {file}')
    state = checkpoint.get('state_dict', checkpoint)
    own = set(model.state_dict(keep_vars=True))
    nested = nested_weights_cause(state, model_keys=own)
    if nested is not None and holds_own_names(state, own):
        # Taken out, it is the whole model's checkpoint.
        return (f"a file of this model's weights nested under one key: "
                f'{nested}, then train from DST: tools/train.py CONFIG '
                '--cfg-options load_from=DST (the whole model)')
    if nested is not None:
        # --pretrained and load_from refuse it as it is.
        return (f'a file of other training code: {nested}, '
                'then train from DST: tools/train.py CONFIG --pretrained DST')
    if not keys:
        return (f'a file with no weights at its top level or under '
                f"'state_dict' (its keys: {sorted(map(str, checkpoint))[:8]})"
                f'. To train from a backbone\'s weights, {pretrained}, which '
                'says how to convert a file it cannot load')
    if ADAPTER_META_KEY in meta:
        return (f'an adapter-only checkpoint ({len(keys)} tensors; '
                f"'meta' has {ADAPTER_META_KEY!r}). To train from it, load "
                f'it: tools/train.py CONFIG --pretrained BACKBONE '
                f'--cfg-options load_from={file}')
    origin = meta.get('converted_from')
    converted = (f', converted from {escape_controls(str(origin))} by '
                 'tools/model_converters' if origin else '')
    if all(k.startswith(BACKBONE_PREFIX) for k in keys):
        return (f"a backbone's pretrained weights (its {len(keys)} tensors "
                f'are all under {BACKBONE_PREFIX!r}{converted}). To train '
                f'from it, {pretrained}')
    if not any(k.split('.')[0] in parts for k in keys):
        return (f"a backbone's pretrained weights (its {len(keys)} tensors, "
                f'e.g. {keys[0]!r}, are under none of the model\'s parts: '
                f'{", ".join(parts)}{converted}). To train from it, '
                f'{pretrained}')
    held = sorted({k.split('.')[0] for k in keys if k.split('.')[0] in parts})
    trained = trained_part_tensors(model, keys)
    if trained:
        return _trained_model(keys, trained, model,
                              ', '.join(held) + converted, file, work_dir)
    return (f'the weights of a model ({len(keys)} tensors of its '
            f'{", ".join(held)}{converted}). To train from them, load them: '
            f'tools/train.py CONFIG --cfg-options load_from={file} (the '
            f'whole model), or {pretrained} (its backbone alone)')


def untrained_file(checkpoint: Any,
                   meta: Mapping,
                   model: nn.Module,
                   source: str,
                   file: str,
                   new_work_dir: str = '') -> Optional[str]:
    """The refusal of a checkpoint that training did not write, or None for
    one that holds the epoch and iteration a run reached.

    Args:
        checkpoint (Any): The loaded checkpoint, a dict.
        meta (Mapping): Its ``'meta'`` ({} without one).
        model (nn.Module): The model it is resumed into (unwrapped).
        source (str): The file, or a description of it, for the message.
        file (str): The file as a command line takes it (``FILE`` when
            ``source`` is not a file name).
        new_work_dir (str): The work dir to advise for a new run that
            loads an ``epoch_N.pth``: in the work dir that holds it, that
            run would write its own over it. Defaults to '' (none named).

    Returns:
        str | None: The message, which says what the file holds and how to
        start a new run from it.
    """
    lacking = [k for k in TRAINING_STATE_KEYS if k not in meta]
    if not lacking:
        return None
    work_dir = f'--work-dir {new_work_dir} ' if new_work_dir else ''
    where = (f"its 'meta' has no {' and no '.join(map(repr, lacking))}"
             if 'meta' in checkpoint else "it has no 'meta'")
    return (f'{source} cannot be resumed: it is not a checkpoint that '
            f'training saved ({where}, the epoch and iteration a run reached '
            'and --resume continues from). It is '
            f'{_what_and_how(checkpoint, meta, model, file, work_dir)}, '
            'without '
            '--resume.')
