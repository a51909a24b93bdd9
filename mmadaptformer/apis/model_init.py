# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Build a video or image classifier from its config and load a checkpoint.

The model is built from its config and loaded as
:func:`mmengine.runner.load_checkpoint` loads it
(:mod:`~mmadaptformer.apis.checkpoint_read`), the path ``init_recognizer``
and mmpretrain's ``get_model`` take, so every check of the model's own load
path applies. On top of that, :func:`init_model` refuses what a non-strict load
would let through: a full checkpoint that leaves keys unloaded, and an
adapter-only checkpoint whose frozen part differs from the weights it was
trained on (``meta['adapter_checkpoint']['frozen_digest']``).
"""
import contextlib
import functools
import os
from collections import OrderedDict
from typing import List, Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.engine.adapter_checkpoint import (EXPECTED_CHECKPOINT,
                                                     adapter_hook_cfg,
                                                     check_adapter_record,
                                                     check_holds_trained_part,
                                                     checkpoint_meta)
from mmadaptformer.utils.adapter_only_fit import check_adapter_only_fits
from mmadaptformer.utils.checkpoint_schemes import reading_once
from mmadaptformer.utils.default_scope_lock import SCOPE_LOCK
from mmadaptformer.utils.device_check import device_to_use
from mmadaptformer.utils.head_fit import check_holds_head
from mmadaptformer.utils.image_loading_agreement import \
    warn_image_loading_ignored
from mmadaptformer.utils.pipelines_agreement import \
    warn_test_pipelines_disagree
from mmadaptformer.utils.random_sampling import warn_random_sampling
from mmadaptformer.utils.recognizer_check import check_inference_cfg
from mmadaptformer.utils.recordless_adapters import checking_meta_record
from mmadaptformer.utils.state_dict_check import (HEAD_NAMES, check_not_nested,
                                                  check_state_dict)
from .adapter_checkpoint_check import check_adapter_method, check_loaded_frozen
from .checkpoint_read import (load_read_checkpoint, read_api_files,
                              read_checkpoint)
from .config_read import model_config
from .inputs import toolbox_of
from .pretrained_load import read_frozen_pretrained

__all__ = ['init_model']


def _other_model_hint(model: nn.Module, state: dict, keys: List[str]) -> str:
    """The hint of :func:`init_model`'s state-dict refusal, for the keys at
    fault: none where only the head's number of classes differs (the file
    is a checkpoint of this config's model, built with another
    ``num_classes``, which the refusal names with its fix)."""
    own = model.state_dict()
    if keys and all(
            key.split('.', 1)[0] in HEAD_NAMES and key in own and key in state
            and torch.is_tensor(state[key])
            and state[key].shape[1:] == own[key].shape[1:] for key in keys):
        return ''
    return 'Is it a checkpoint of this config\'s model?'


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Optional[Union[str, torch.device]] = 'cpu',
               loaded: Optional[dict] = None) -> Tuple[nn.Module, dict]:
    """Build a video or image classifier and load a checkpoint into it.

    Like mmaction2's ``init_recognizer`` and mmpretrain's ``get_model``
    (build, then :func:`mmengine.runner.load_checkpoint`), and stricter: a
    full or merged checkpoint must fill every key of the model, and an
    adapter-only checkpoint every trainable key on the backbone it was
    trained on (the config's pretrained path). A video config whose
    ``test_dataloader`` pipeline (the one our tools feed) differs from its
    top-level ``test_pipeline`` (the one mmaction2's
    ``inference_recognizer`` reads from ``model.cfg``) is warned about once
    (:func:`~mmadaptformer.utils.pipelines_agreement.
    warn_test_pipelines_disagree`), and so is a test frame sampler without
    ``test_mode=True`` or a random crop, flip or augmentation there, which
    scores the same video differently on every
    call (:func:`~mmadaptformer.utils.random_sampling.
    warn_random_sampling`). So is an image config whose test
    ``LoadImageFromFile`` has arguments (``color_type='grayscale'``, ...)
    that mmpretrain's ``ImageClassificationInferencer`` drops
    (:func:`~mmadaptformer.utils.image_loading_agreement.
    warn_image_loading_ignored`).

    Args:
        config (str | Config): The config file or object.
        checkpoint (str, optional): The checkpoint file or address
            (``http(s)://`` and MMEngine's other schemes). Defaults to None:
            the model as built, as mmaction2's ``init_recognizer`` returns
            it: ``init_weights`` is not called, so the head and adapters
            are random and the backbone is not even the pretrained one.
        device (str | torch.device, optional): Where the model runs, a
            device this machine has; None picks one as MMEngine's
            inferencers do (a GPU where there is one). Defaults to
            ``'cpu'``.
        loaded (dict, optional): ``checkpoint`` as :func:`read_checkpoint`
            read it, so that it is not read again; ``checkpoint`` then only
            names it in messages, and the pretrained backbone an
            adapter-only one leaves out is read by the load, under the lock,
            unless the caller read it before
            (:func:`~.pretrained_load.read_frozen_pretrained`). Defaults to
            None (both read here, without the lock).

    Returns:
        tuple: The model (eval mode, ``model.cfg`` set) and the checkpoint's
        ``meta`` (empty without a checkpoint).

    Raises:
        ValueError: If this machine has no ``device``, before anything is
            read.
        ConfigError: If the config sets a ``model.test_cfg`` (or
            ``train_cfg``) key that its mmaction2 recognizer would ignore,
            or its head keeps one row of scores per test view
            (``average_clips=None``; :func:`~mmadaptformer.utils.
            recognizer_check.check_inference_cfg`).
        PretrainedLoadError: If the pretrained file of the frozen backbone
            that an adapter-only checkpoint leaves out cannot be loaded
            (:func:`load_read_checkpoint`). What fails in reading or
            loading the checkpoint itself is raised as it is.
    """
    device = device_to_use(device, 'init_model')
    # Before the model is built (seconds for a ViT-B): a checkpoint that is
    # not there, a folder, or a video, is named first.
    cfg, source, order = read_api_files('init_model(config, checkpoint)',
                                        config,
                                        checkpoint if loaded is None else None)
    # The default scope is the process's: no other call of ours may change
    # it while the model is built. The checkpoint (and an adapter-only one's
    # pretrained backbone) is read without the lock: a download of minutes
    # would hold every other inferencer's call.
    with SCOPE_LOCK:
        scope, model = _build(cfg, source)
    return _load(model, cfg, source, scope, order, checkpoint, device, loaded)


def _build(cfg: Config, source: str) -> Tuple[str, nn.Module]:
    """The toolbox (the default scope) of :func:`init_model`'s config and
    its model, built; under :data:`SCOPE_LOCK`."""
    scope = toolbox_of(cfg, source)
    init_default_scope(scope)
    # A test_cfg key mmaction2's recognizer would ignore without a word,
    # and a head whose scores name no one label per input.
    check_inference_cfg(cfg, source)
    # A test sampler without test_mode=True: other scores on every call.
    warn_random_sampling(cfg, source, ('test_dataloader', ))
    # The model's cfg is what mmaction2's inference_recognizer reads its
    # test_pipeline from; ours feed test_dataloader's.
    warn_test_pipelines_disagree(cfg, source)
    # mmpretrain's inferencers read images with mmcv.imread's defaults;
    # ours through the test pipeline's LoadImageFromFile and its arguments.
    if scope == 'mmpretrain':
        warn_image_loading_ignored(cfg, source)
    return scope, MODELS.build(model_config(cfg, scope))


def _load(model: nn.Module, cfg: Config, source: str, scope: str, order: str,
          checkpoint: Optional[str], device: str,
          loaded: Optional[dict]) -> Tuple[nn.Module, dict]:
    """:func:`init_model` after its model was built: the checkpoint read,
    checked and loaded."""
    meta = {}
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        # An address (http://, open-mmlab://, ...) goes to MMEngine's
        # CheckpointLoader, whose schemes all load with weights_only.
        ckpt = read_checkpoint(checkpoint, order) if loaded is None \
            else loaded
        meta = checkpoint_meta(
            ckpt, checkpoint, EXPECTED_CHECKPOINT, purpose='evaluate')
        named = f'{checkpoint} (config {source})'
        # Weights nested under one key ({'model': state_dict}) are named as
        # such, before the checks below read the key as a state dict
        # without the adapters or head.
        check_not_nested(ckpt.get('state_dict', ckpt), named, model)
        record = meta.get(ADAPTER_META_KEY)
        if record is not None:
            # Read once: the checks below and after the load take it as is.
            record = check_adapter_record(record, checkpoint)
        # The same refusals as tools/test.py's, before anything loads: an
        # adapter-only checkpoint (or one whose record is missing, its
        # state dict holding the frozen backbone's all the same) on a model
        # without its adapters (the stock config) ...
        check_adapter_only_fits(model, ckpt, named)
        if record is not None:
            # ... and one of another method (VPT's prompts on AdaptFormer's
            # adapters), as tools/test.py names it.
            hook = adapter_hook_cfg(cfg)
            check_adapter_method(
                model,
                record,
                checkpoint,
                hook.get('mode', 'adaptformer') if hook else None,
                state=ckpt.get('state_dict', ckpt))
        else:
            # ... and a full one without the model's adapters (a stock
            # model's) on a model with them.
            check_holds_trained_part(model, ckpt.get('state_dict', ckpt),
                                     named)
            # ... and one without the head (a backbone-only file).
            check_holds_head(
                model, ckpt.get('state_dict', ckpt), named, before_load=True)
        # MMEngine's own report of missing keys is silenced: an adapter-only
        # checkpoint lacks the frozen keys by design, and check_state_dict
        # below refuses whatever else does not fit, naming it.
        with reading_once():
            # The frozen backbone's pretrained weights, which an
            # adapter-only checkpoint leaves out, are read here, after the
            # checks above and without the lock (what fails is raised by the
            # load, not read again); a caller that read the checkpoint
            # (add_task) read them too, before its locks ...
            if loaded is None:
                read_frozen_pretrained(cfg, ckpt)
            # Its meta record is checked after the load (check_loaded_frozen
            # below): the frozen-host wrappers take it without their own.
            checked = checking_meta_record() if record is not None else \
                contextlib.nullcontext()
            with SCOPE_LOCK, checked:
                # ... and load through its init_cfg, from what was read:
                # MMEngine builds the initialiser under the default scope,
                # which another thread may have changed meanwhile.
                init_default_scope(scope)
                load_read_checkpoint(model, ckpt, checkpoint)
        state = ckpt.get('state_dict', ckpt)
        if record is not None:
            # The frozen part comes from the config's pretrained path;
            # check_loaded_frozen checks it is the right one.
            full = OrderedDict(model.state_dict())
            full.update(state)
            state = full
        check_state_dict(
            model,
            state,
            source=named,
            allow_fresh=False,
            hint=functools.partial(_other_model_hint, model, state),
            source_file=checkpoint)
        if record is not None:
            # Its method was checked before the load, on these keys.
            check_loaded_frozen(model, record, checkpoint)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model, meta
