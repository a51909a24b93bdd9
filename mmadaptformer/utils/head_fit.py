# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint given as a whole classifier's weights fits it: its head,
and the adapters or prompts of an AdaptFormer or VPT model.

MMEngine loads non-strictly. Given to mmaction2's ``init_recognizer`` or
mmpretrain's ``get_model``, with a warning only,

* a trained checkpoint whose head has another number of classes than the
  config's model loaded, and the model predicted from its random head;
* a backbone-only file given as an AdaptFormer model's checkpoint loaded
  with the adapters and head untrained;
* a full stock checkpoint (a plain mmaction2 or mmpretrain ViT, backbone
  and head, no adapters) given to an AdaptFormer or VPT config loaded with
  the adapters or prompts at their initialisation: predictions from a
  model that is not the AdaptFormer the user meant;
* a checkpoint without the head (or neck), e.g. what
  ``convert_official.py`` writes of an MMAction2 checkpoint (the backbone
  alone), loaded with a random head, stock model or AdaptFormer alike; or
  without a final norm (``backbone.fc_norm``, ``backbone.ln1``), loaded
  with the identity in its place.

:func:`check_whole_model_fits` refuses all four, before anything loads;
:mod:`.adapter_only_fit` calls it where every MMEngine load of a
checkpoint into a model passes. An AdaptFormer checkpoint (full, or
adapter-only with the backbone it was trained on as the config's
pretrained weights) still loads.

The rule, and why it is not applied to every load:

* It concerns a *whole classifier*: a model with a ``backbone`` and a head
  (:data:`~.model_keys.HEAD_NAMES`) whose ``num_classes`` is an int, i.e.
  an mmaction2 ``BaseRecognizer`` or an mmpretrain ``ImageClassifier``. A
  backbone initialised by ``init_cfg=dict(type='Pretrained')`` is loaded
  through the same ``load_checkpoint``, but it is no such model and is
  never checked here.
* Loads made to *evaluate* the checkpoint are checked: MMEngine's public
  ``mmengine.runner.load_checkpoint`` (behind ``init_recognizer``,
  ``get_model``, mmpretrain's Inferencers and ``inference_model``) and
  ``BaseInferencer`` (behind ``MMAction2Inferencer``).
* Loads made by MMEngine's training machinery are *transfers* and keep
  MMEngine's behaviour: ``Runner.load_checkpoint`` (``load_from``,
  ``resume``), which calls ``_load_checkpoint_to_model`` through its own
  module's binding (``mmengine.runner.runner``), never through
  ``load_checkpoint``; ``BaseStrategy.load_model_state_dict``
  (``FlexibleRunner``'s ``load_from`` and resume), which calls it with the
  state dict it popped from the checkpoint (a strategy that loads by its
  own code, FSDP or DeepSpeed, does not reach it); and a whole model's
  ``init_cfg=dict(type='Pretrained')``, which ``init_weights`` applies
  when training starts (the evaluation APIs and ``Runner.test`` never
  call it). Fine-tuning a checkpoint on a new number of classes with
  ``load_from`` loads its backbone and skips the head of another size,
  and training AdaptFormer from a stock checkpoint trains the adapters
  from their initialisation, as in MMEngine.
* Our recipes' hooks make their own, stricter checks on the Runner's
  path, evaluation or not (mmaction2's and mmpretrain's own
  ``tools/test.py`` on our configs, ``runner.test()``):
  ``CheckpointCheckHook`` refuses a head of another size (its
  ``allow_missing``/``allow_unexpected`` never admit a tensor of another
  shape) in every run but training's ``load_from``, where it takes a head
  of another number of classes out of the checkpoint with a warning, so
  that the head keeps the config's initialisation; ``AdapterHook``
  refuses to test or validate adapters or prompts that the loaded
  checkpoint does not hold, and
  ``CheckpointCheckHook`` a head, neck or final norm it does not hold
  (:func:`check_holds_head`; training from it trains them).

What a fresh start may initialise (:func:`~.model_keys.fresh_keys`: the
head, neck, final norms) is tolerated in *training* loads only; a
checkpoint given to *evaluate* must hold all of it, except what the
model's own pretrained backbone fills (the frozen norms an adapter-only
checkpoint leaves out, see :func:`~.classifier_parts.
missing_evaluated_keys`). ``init_model``, ``merge_adapters.py`` and
``extract_adapters.py`` call :func:`check_holds_head` before their strict
check, so that a head-less file is named a backbone there too.
"""
import re
from collections import OrderedDict
from typing import Any, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from .classifier_parts import (classifier_head, evaluated_parts,
                               head_part_keys, missing_evaluated_keys,
                               same_part_keys)
from .head_classes import state_dict_head_classes
from .model_keys import NECK_NAME, held_keys, needed_keys
from .state_dict_check import StateDictMismatchError, check_not_nested, listing
from .trained_part_fit import (added_part_keys, check_holds_trained_part,
                               trained_part_name)

__all__ = [
    'DEFAULT_REVISE_KEYS', 'EVALUATED_AT_INIT', 'WRITTEN_AT_INIT',
    'HEAD_ADVICE', 'check_holds_head', 'check_whole_model_fits',
    'classifier_head', 'head_part_keys', 'revised_state_dict'
]

#: MMEngine's default ``revise_keys``: a DDP ``module.`` prefix is dropped.
DEFAULT_REVISE_KEYS = ((r'^module\.', ''), )

#: What a model evaluated without its head or final norms does.
EVALUATED_AT_INIT = ('the model would be evaluated with them at their '
                     'initialisation (random for a head, the identity for a '
                     'norm), not trained')
#: What a converter would write of a file without them.
WRITTEN_AT_INIT = ('the file written would hold them at their '
                   'initialisation (random for a head, the identity for a '
                   'norm), not trained')
#: What to give instead of a file without its head, by what the caller
#: does with the file (:func:`check_holds_head`'s ``purpose``).
HEAD_ADVICE = dict(
    evaluate='To evaluate, give the checkpoint its training run wrote (its '
    "work dir's epoch_N.pth or best_*.pth, or an adapter-only file with the "
    'backbone it was trained on as --pretrained)',
    extract='To extract its trained parts, give the full checkpoint of '
    "this config's model that its training run wrote (its work dir's "
    'epoch_N.pth or best_*.pth; a run with '
    'AdapterHook(adapter_only_checkpoint=True) wrote adapter-only files, '
    'which need no extracting)',
    merge='To merge, give the adapter-only checkpoint its training run '
    "wrote (its work dir's epoch_N.pth or best_*.pth), which holds the "
    'head it trained')


def check_holds_head(model: nn.Module,
                     state: Mapping,
                     source: str,
                     before_load: bool = False,
                     outcome: str = EVALUATED_AT_INIT,
                     purpose: str = 'evaluate') -> None:
    """Refuse to evaluate a whole classifier with a checkpoint that lacks
    tensors of its head, neck or final norms (:func:`~.classifier_parts.
    evaluated_keys`): they would predict at their initialisation (a random
    head, identity norms), not as trained.

    E.g. ``convert_official.py``'s output of an MMAction2 checkpoint (the
    backbone alone), or a file saved without its head or its ``fc_norm``.
    Training from such a checkpoint is not concerned (``load_from``,
    ``--pretrained``): it trains them. An adapter-only checkpoint holds the
    head and norms it trained; those it left frozen come from the
    backbone's pretrained weights, which complete it before this check
    (``AdapterHook``, ``init_model``) or fill them in the model's own load.

    A key the model's own load would fill in is not missing
    (:func:`~.classifier_parts.missing_evaluated_keys`).

    Args:
        model (nn.Module): The unwrapped model; any module that is not a
            whole classifier passes.
        state (Mapping): The checkpoint's state dict (a ``module.`` prefix
            is ignored, as MMEngine's load ignores it).
        source (str): The checkpoint file, for the error.
        before_load (bool): Whether it is checked before anything of it
            loads, which the error then says. Defaults to False.
        outcome (str): What would come of the file, for the error (a
            converter writes a file instead of evaluating). Defaults to
            :data:`EVALUATED_AT_INIT`.
        purpose (str): What the caller does with the file, a key of
            :data:`HEAD_ADVICE` (``'evaluate'``, ``'extract'``,
            ``'merge'``), for the file to give instead. Defaults to
            ``'evaluate'``.

    Raises:
        StateDictMismatchError: Naming the file, the missing keys and what
            to give instead; for a file whose weights are nested under one
            key (``{'model': state_dict}``), the key and the convert
            command (:func:`~.state_dict_check.check_not_nested`), not a
            missing head.
    """
    # Its weights under one key: none is at the top level, the head's
    # neither, but the file holds them.
    check_not_nested(state, source, model)
    missing = missing_evaluated_keys(model, state)
    if not missing:
        return
    parts = evaluated_parts(model, missing)
    held = held_keys(state)
    # "none" or "not all" of the parts at fault, not of every part.
    none = not any(key in held for key in same_part_keys(model, missing))
    # Without the adapters or prompts as well, what to train is both.
    added = added_part_keys(model)
    bare = bool(added) and not any(key in held for key in added)
    part = trained_part_name(model)
    name = classifier_head(model)[0]
    lacks = f'its {part}s and head' if bare else 'its head'
    if any(key.startswith((name + '.', NECK_NAME + '.')) for key in missing):
        what = ('It is a backbone checkpoint (as convert_official.py writes '
                f'one: the backbone alone) or a file saved without {lacks}.')
    else:
        what = ('It is a file saved without them (a training run saves '
                'them), e.g. a state dict filtered by hand.')
    train = f'the {part}s and a head' if bare else 'a head'
    raise StateDictMismatchError(
        f'{source} holds {"none" if none else "not all"} of the model\'s '
        f'{parts} tensors: {len(missing)} missing ({listing(missing)}), so '
        f'{outcome}. {what} {HEAD_ADVICE[purpose]}; to train {train} on '
        'this backbone, give the file to tools/train.py as --pretrained.' +
        (' Nothing of it was loaded.' if before_load else ''))


def revised_state_dict(checkpoint: Mapping,
                       revise_keys: Sequence[Tuple[str, str]]) -> dict:
    """The state dict MMEngine's ``_load_checkpoint_to_model`` would load:
    ``checkpoint['state_dict']`` if it has one, else the checkpoint, with
    ``revise_keys`` applied to its keys.

    Args:
        checkpoint (Mapping): The loaded checkpoint (or a bare state dict).
        revise_keys (Sequence[tuple]): ``(pattern, replacement)`` applied
            to each key, as the load applies them.

    Returns:
        dict: The state dict; ``checkpoint`` is not changed.
    """
    state = checkpoint['state_dict'] if 'state_dict' in checkpoint \
        else checkpoint
    for pattern, replacement in revise_keys:
        state = OrderedDict((re.sub(pattern, replacement, key), value)
                            for key, value in state.items())
    return state


def check_whole_model_fits(
        model: nn.Module,
        checkpoint: Any,
        source: Optional[str] = None,
        revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS) -> None:
    """Refuse a checkpoint that a whole classifier would load with a random
    head or untrained adapters (see the module docstring for which loads
    are checked).

    0. First, a checkpoint whose weights are nested under one key
       (``{'model': state_dict}``, as official releases save them), named
       as such with the convert command (:func:`~.state_dict_check.
       check_not_nested`, the refusal ``tools/test.py`` makes through
       ``check_state_dict``).
    1. A head trained for another number of classes: the head's tensors
       differ from the model's by their first dimension alone
       (:func:`~.head_classes.head_classes_mismatch`).
    2. A model with adapters or prompts (:func:`~.model_keys.added_keys`)
       given a checkpoint that holds none of them and no head, but every
       other tensor the model needs (all but :func:`~.model_keys.
       fresh_keys`) and no tensor the model lacks: a backbone-only file,
       which belongs in the backbone's pretrained weights. One with holes
       or of another layout is left to the load, which names them.
    3. A model with adapters or prompts given a checkpoint that holds none
       of them but holds a head: a whole model's checkpoint of the host
       alone, e.g. a stock model's (backbone and head)
       (:func:`~.trained_part_fit.check_holds_trained_part`, the refusal
       ``tools/test.py`` and ``tools/infer.py`` make).
    4. A checkpoint that lacks tensors of the head, neck or final norms,
       whatever the model (:func:`check_holds_head`, the refusal
       ``tools/test.py`` makes through ``CheckpointCheckHook``), except
       one that rule 2 leaves to the load (holes, another layout): the
       model's wrapper names what is wrong with it.

    Args:
        model (nn.Module): The (unwrapped) model it is loaded into; any
            module that is not a whole classifier passes.
        checkpoint (Any): The checkpoint, or a bare state dict, as given
            to ``_load_checkpoint_to_model``.
        source (str, optional): Its file, for the error.
        revise_keys (Sequence[tuple]): ``(pattern, replacement)`` applied
            to its keys, as the load applies them. Defaults to
            :data:`DEFAULT_REVISE_KEYS`.

    Raises:
        StateDictMismatchError: Naming the file, the keys and what to do.
    """
    found = classifier_head(model)
    if found is None or not isinstance(checkpoint, Mapping):
        return
    name, head = found
    state = revised_state_dict(checkpoint, revise_keys)
    if not isinstance(state, Mapping):
        return
    where = source or 'The checkpoint'
    # Before the rules below, which would read its one key as a state dict
    # without the head or adapters.
    check_not_nested(state, where, model)
    own = model.state_dict()
    classes = state_dict_head_classes(model, state)
    if classes is not None:
        shapes = ', '.join(f'{key}: {ckpt} vs {mine}'
                           for key, ckpt, mine in classes.keys)
        raise StateDictMismatchError(
            f'{where} does not fit the model: the checkpoint\'s head has '
            f'{classes.checkpoint} classes, {classes.config_key} is '
            f'{classes.model} ({shapes}; checkpoint shape vs model shape), '
            'so the model would predict from a random head. Build the '
            f'model with {classes.config_key}={classes.checkpoint} to use '
            'its head as trained; to fine-tune it on '
            f'{classes.model} classes, give it to tools/train.py as '
            'load_from, which loads all of it but this head. Nothing of '
            'it was loaded.')
    added = added_part_keys(model)
    if added and not any(key in state for key in added):
        if any(key.startswith(name + '.') for key in state):
            # A whole model's checkpoint, of the host alone (a stock
            # model's).
            check_holds_trained_part(model, state, where, before_load=True)
        else:
            _refuse_backbone_only(model, state, own, added, name, where)
            # One of which the model would load nothing (a backbone saved
            # without its 'backbone.' prefix): no wrapper sees a key of it
            # to name, and MMEngine's non-strict load only warned.
            if not any(key in own for key in held_keys(state)):
                check_holds_trained_part(model, state, where, before_load=True)
            # One with holes, or of another layout: the wrapper's own load
            # names what is wrong with it.
            return
    check_holds_head(model, state, where, before_load=True)


def _refuse_backbone_only(model: nn.Module, state: Mapping, own: Mapping,
                          added: List[str], name: str, where: str) -> None:
    """Rule 2 of :func:`check_whole_model_fits`, for a state dict without
    the model's trained part and head: refuse it if it holds every other
    tensor the model needs and no tensor the model lacks."""
    # A file with holes, or of another layout, is left to the load, whose
    # wrapper names what is wrong with it.
    tensors = {key for key, value in state.items() if torch.is_tensor(value)}
    if not tensors <= set(own) or not needed_keys(model) <= tensors:
        return
    part = trained_part_name(model)
    raise StateDictMismatchError(
        f'{where} holds none of the model\'s {len(added)} {part} tensors '
        f'(e.g. {added[0]}) and no head ({name}.*): it is a backbone '
        f'checkpoint, and the model would predict with {part}s and head at '
        'their initialisation. Give it as the backbone\'s pretrained '
        'weights (--pretrained in tools/train.py and tools/test.py, or the '
        "wrapped backbone's init_cfg=dict(type='Pretrained', "
        "checkpoint=..., prefix='backbone.')), and as the model's "
        'checkpoint the one its training run wrote (epoch_N.pth, '
        'best_*.pth or an adapter-only file). Nothing of it was loaded.')
