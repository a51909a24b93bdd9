# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A full checkpoint evaluated with a model that adds adapters or prompts
to its host holds them.

A checkpoint of the host alone (a stock mmaction2 or mmpretrain model, a
fully fine-tuned one, a converted VideoMAE or MAE checkpoint) loads into
an AdaptFormer or VPT model with every host tensor in place and the
adapters or prompts missing: MMEngine's non-strict load warns, and the
model predicts with them at their initialisation (random, with the video
recipes' ``init='trunc_normal'``), not as trained.
:func:`check_holds_trained_part` refuses that; ``tools/test.py`` (through
:class:`~mmadaptformer.engine.AdapterHook`), the inference API and every
MMEngine evaluation load of a whole classifier
(:func:`~.head_fit.check_whole_model_fits`) call it. Training from such a
checkpoint is not concerned: it trains them.

The trained part is found by type, as :func:`~.model_keys.added_keys`
finds it (the modules that declare ``fresh_tensors()``), and named as the
frozen-host wrappers name it (their ``trained_part``: ``'adapter'``,
``'prompt'``), so that this layer needs no import of the models.
:func:`added_part_keys` is the package's one answer to "which state-dict
keys are the part this model trains"; the hooks, the adapter-only
checkpoint check and the resume refusal ask it here.
"""
from typing import List, Mapping

import torch
from torch import nn

from .classifier_parts import (evaluated_parts, head_part_keys,
                               missing_evaluated_keys)
from .model_keys import added_keys, held_keys
from .state_dict_check import StateDictMismatchError, listing
from .vit_modality import modality_mismatch_cause

__all__ = ['added_part_keys', 'check_holds_trained_part', 'trained_part_name']


def added_part_keys(model: nn.Module) -> List[str]:
    """The state-dict keys of the part the model trains beyond its host and
    head: the tensors this package adds (the adapters, the VPT prompts).

    They are found by type (:func:`~.model_keys.added_keys`: the tensors of
    the modules that declare ``fresh_tensors()``), wherever they sit: in a
    frozen-host wrapper (AdaptFormer, VPT, one wrapped in another),
    attached by :func:`~mmadaptformer.models.inject_adapters` to a model
    without a wrapper, or routed per task in a multi-task model. A model
    without them (a stock, fully fine-tuned or linear-probe model) has
    none.

    Args:
        model (nn.Module): The model; a wrapper of it (``DataParallel``,
            DDP) gives its keys, with the ``module.`` prefix.

    Returns:
        list[str]: The keys, each once, in the order of
        ``model.state_dict()``, so that an error's example is the first of
        them.
    """
    added = added_keys(model)
    return [key for key in model.state_dict(keep_vars=True) if key in added]


def trained_part_name(model: nn.Module) -> str:
    """What the model's frozen-host wrappers train, as they name it (the
    ``trained_part`` class attribute: ``'adapter'``, ``'prompt'``), the
    outermost first and joined by "and" when they differ (a VPT around an
    AdaptFormer trains ``'prompt and adapter'`` tensors); ``'adapter'`` for
    a model without one (e.g. adapters attached by
    :func:`~mmadaptformer.models.inject_adapters`)."""
    names = []
    for module in model.modules():
        name = getattr(type(module), 'trained_part', None)
        if isinstance(name, str) and name not in names:
            names.append(name)
    return ' and '.join(names) or 'adapter'


def check_holds_trained_part(model: nn.Module,
                             state: Mapping,
                             source: str,
                             before_load: bool = False) -> None:
    """Refuse to evaluate a model with a full checkpoint that holds none of
    its adapters (or prompts): they would predict at their initialisation,
    not as trained.

    A checkpoint that holds some of them is refused where the model loads
    it (the wrapper's own check); adapter-only checkpoints are checked
    against their record. Training may start from such a checkpoint: the
    adapters then train from their initialisation.

    One that holds no tensor of the head (or neck) either is a backbone
    checkpoint (a stock backbone-only file, ``convert_official.py``'s
    output): the one error names both parts, their keys, and
    ``--pretrained``, the place of a backbone.

    Args:
        model (nn.Module): The unwrapped model.
        state (Mapping): The checkpoint's state dict (a ``module.`` prefix
            is ignored, as MMEngine's load ignores it).
        source (str): The checkpoint file, for the error.
        before_load (bool): Whether it is checked before anything of it
            loads, which the error then says. Defaults to False.

    Raises:
        StateDictMismatchError: If the model has a trained part and
            ``state`` holds none of it; naming the file, an expected key
            and what to give instead.
    """
    keys = added_part_keys(model)
    if not keys:
        return
    held = held_keys(state)
    if any(key in held for key in keys):
        return
    # An image model's checkpoint on a video model or the reverse: what
    # it is, before what it lacks.
    other_kind = modality_mismatch_cause(model.state_dict(), state)
    if other_kind is not None:
        raise StateDictMismatchError(
            f'{source} does not fit the model: {other_kind}.' +
            (' Nothing of it was loaded.' if before_load else ''))
    part = trained_part_name(model)
    article = 'an' if part[0] in 'aeiou' else 'a'
    head = head_part_keys(model)
    # No head either (a stock model's checkpoint holds its own head, if of
    # another type): a backbone.
    missing = [] if any(key in held for key in head) else \
        missing_evaluated_keys(model, state)
    # With its head, trained tensors of another method (a VPT file's
    # prompts where the model has adapters, or the reverse): named as such,
    # not as a stock model's checkpoint. A head of another type is the
    # head check's; without a head it is a backbone (below). Only a file a
    # wrapper wrote (it carries a wrapper's record): a stock checkpoint's
    # tensors this model lacks (its norm where the config has fc_norm)
    # were trained with no other method.
    foreign = [] if missing or not _written_by_a_wrapper(state) else \
        _foreign_tensors(model, state, head)
    if foreign:
        raise StateDictMismatchError(
            f'{source} holds none of the model\'s {len(keys)} {part} '
            f'tensors (e.g. {keys[0]}) but {len(foreign)} trained '
            f'tensor{"s" if len(foreign) != 1 else ""} this model lacks '
            f'({listing(foreign)}): it was trained with another method or '
            'model (e.g. a VPT config\'s prompts where this config has '
            'AdaptFormer\'s adapters, or the reverse). Use the config it was '
            'trained with (the training run\'s work dir keeps a copy of it).' +
            (' Nothing of it was loaded.' if before_load else ''))
    if missing:
        raise StateDictMismatchError(
            f'{source} holds neither the model\'s {len(keys)} {part} '
            f'tensors (e.g. {keys[0]}) nor its '
            f'{evaluated_parts(model, missing)} tensors ({len(missing)} '
            f'missing: {listing(missing)}): the {part}s and the head are '
            'missing. It is a backbone checkpoint (the '
            'backbone alone, e.g. a stock backbone-only file or what '
            'convert_official.py writes), and the model would be evaluated '
            f'with the {part}s and the head at their initialisation. To '
            f'train the {part}s and the head on this backbone, give the file '
            'to tools/train.py as --pretrained; to evaluate this config, '
            'give the checkpoint that training wrote (its work dir\'s '
            f'epoch_N.pth or best_*.pth, or {article} {part}-only file with '
            'this backbone as --pretrained in tools/test.py and '
            'tools/infer.py).' +
            (' Nothing of it was loaded.' if before_load else ''))
    raise StateDictMismatchError(
        f'{source} holds none of the model\'s {len(keys)} {part} tensors '
        f'(e.g. {keys[0]}): the model would be evaluated with {part}s at '
        'their initialisation, not trained ones. It is a checkpoint of a '
        f'model without these {part}s (a stock or fully fine-tuned model, '
        'a converted VideoMAE or MAE checkpoint): evaluate it with its own '
        'config (the stock model\'s); to evaluate this config, give the '
        'checkpoint its training run wrote (its work dir\'s epoch_N.pth or '
        f'best_*.pth, or {article} {part}-only file together with the '
        'backbone it was trained on as the pretrained weights, --pretrained '
        f'in tools/test.py and tools/infer.py); to train the {part}s on '
        'this model, give the file to tools/train.py as '
        '--pretrained (the backbone alone) or load_from.' +
        (' Nothing of it was loaded.' if before_load else ''))


def _written_by_a_wrapper(state: Mapping) -> bool:
    """Whether ``state`` carries the record a wrapper saves beside its
    tensors (the frozen backbone's, or a merged file's settings: formats
    ``mmadaptformer.*``)."""
    return any(
        isinstance(value, Mapping)
        and str(value.get('format', '')).startswith('mmadaptformer.')
        for value in state.values())


def _foreign_tensors(model: nn.Module, state: Mapping,
                     head: List[str]) -> List[str]:
    """The tensors of ``state`` that the model lacks, outside its head and
    neck, in the checkpoint's order (records of the frozen backbone are no
    tensors)."""
    own = set(model.state_dict())
    parts = tuple({key.split('.', 1)[0] + '.' for key in head})
    found = []
    for key, value in state.items():
        name = next(iter(held_keys([key])))
        in_head = bool(parts) and isinstance(name, str) and \
            name.startswith(parts)
        if torch.is_tensor(value) and isinstance(name, str) and \
                name not in own and not in_head:
            found.append(name)
    return found
