# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Classify videos and images with one trained model.

The model is built from its config and loaded as
:func:`mmengine.runner.load_checkpoint` loads it
(:mod:`~mmadaptformer.apis.checkpoint_read`), the path ``init_recognizer``
and mmpretrain's ``get_model`` take, so every check of the model's own load
path applies. On top of that, :func:`init_model` refuses what a non-strict load
would let through: a full checkpoint that leaves keys unloaded, and an
adapter-only checkpoint whose frozen part differs from the weights it was
trained on (``meta['adapter_checkpoint']['frozen_digest']``).

Inputs run through the config's test pipeline
(``test_dataloader.dataset.pipeline``) and the model's ``test_step``, so a
video gets the scores ``tools/test.py --dump`` gives it, views included.
"""
import copy
import functools
import os
import os.path as osp
import threading
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.engine.adapter_checkpoint import (EXPECTED_CHECKPOINT,
                                                     adapter_hook_cfg,
                                                     check_adapter_record,
                                                     check_holds_trained_part,
                                                     checkpoint_meta)
from mmadaptformer.utils.adapter_only_fit import check_adapter_only_fits
from mmadaptformer.utils.config_loading import check_config_file
from mmadaptformer.utils.device_check import check_device_arg
from mmadaptformer.utils.head_fit import check_holds_head
from mmadaptformer.utils.local_files import home_note
from mmadaptformer.utils.recognizer_check import check_inference_cfg
from mmadaptformer.utils.state_dict_check import (HEAD_NAMES, check_not_nested,
                                                  check_state_dict)
from .adapter_checkpoint_check import check_adapter_method, check_loaded_frozen
from .array_inputs import InputKey
from .batching import check_batch_size, forward_runs
from .checkpoint_read import (check_checkpoint_file, load_read_checkpoint,
                              read_checkpoint)
from .forward_guard import eval_mode, serialized
from .infer_files import InferenceInputError
from .inputs import (RESERVED_NAME, TestInputs, class_names, format_scores,
                     progress_bar, toolbox_of)
from .label_maps import check_label_map_file
from .show_dir import check_show_dir
from .visualize import draw_and_report

__all__ = ['load_config', 'model_config', 'init_model', 'ModelInferencer']


def load_config(config: Union[str, Config]) -> Tuple[Config, str]:
    """A copy of a config and how to name it in messages (its file).

    Args:
        config (str | Config): A config file or object.

    Returns:
        tuple[Config, str]: The config and its source.
    """
    if isinstance(config, Config):
        return copy.deepcopy(config), config.filename or '<Config>'
    if osp.isdir(config):
        raise IsADirectoryError(
            f'Config file {config} is a folder, not a config file: give the '
            '.py file in it.')
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'Config file {config} does not exist{home_note(config)}.')
    check_config_file(config)
    return Config.fromfile(config), str(config)


def model_config(cfg: Config, scope: str) -> dict:
    """The model config :func:`init_model` builds.

    mmpretrain's configs give the data preprocessor at the top level
    (``data_preprocessor``); as mmpretrain's ``get_model`` does, it becomes
    the model's unless the model names its own.

    Args:
        cfg (Config): The whole config.
        scope (str): Its toolbox, ``'mmaction'`` or ``'mmpretrain'``.

    Returns:
        dict: A copy of ``cfg.model``.
    """
    model_cfg = copy.deepcopy(cfg.model)
    if scope == 'mmpretrain':
        model_cfg.setdefault('data_preprocessor',
                             cfg.get('data_preprocessor', None))
    return model_cfg


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
               device: Union[str, torch.device] = 'cpu',
               loaded: Optional[dict] = None) -> Tuple[nn.Module, dict]:
    """Build a video or image classifier and load a checkpoint into it.

    Like mmaction2's ``init_recognizer`` and mmpretrain's ``get_model``
    (build, then :func:`mmengine.runner.load_checkpoint`), and stricter: a
    full or merged checkpoint must fill every key of the model, and an
    adapter-only checkpoint every trainable key on the backbone it was
    trained on (the config's pretrained path).

    Args:
        config (str | Config): The config file or object.
        checkpoint (str, optional): The checkpoint file or address
            (``http(s)://`` and MMEngine's other schemes). Defaults to None:
            the model as built, as mmaction2's ``init_recognizer`` returns
            it: ``init_weights`` is not called, so the head and adapters
            are random and the backbone is not even the pretrained one.
        device (str | torch.device): Where the model runs, a device this
            machine has. Defaults to ``'cpu'``.
        loaded (dict, optional): ``checkpoint`` as :func:`read_checkpoint`
            read it, so that it is not read again; ``checkpoint`` then only
            names it in messages. Defaults to None (read here).

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
    check_device_arg(device, 'init_model')
    cfg, source = load_config(config)
    scope = toolbox_of(cfg, source)
    init_default_scope(scope)
    # A test_cfg key mmaction2's recognizer would ignore without a word,
    # and a head whose scores name no one label per input.
    check_inference_cfg(cfg, source)
    if checkpoint is not None and loaded is None:
        # Before the model is built (seconds for a ViT-B): a checkpoint
        # that is not there, or a folder, is named first.
        check_checkpoint_file(checkpoint)
    model = MODELS.build(model_config(cfg, scope))
    meta = {}
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        # An address (http://, open-mmlab://, ...) goes to MMEngine's
        # CheckpointLoader, whose schemes all load with weights_only.
        ckpt = read_checkpoint(checkpoint) if loaded is None else loaded
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
            # The same refusals as tools/test.py's, before anything loads:
            # an adapter-only checkpoint on a model without its adapters
            # (the stock config) ...
            check_adapter_only_fits(model, ckpt, named)
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


class ModelInferencer:
    """Classify videos or images with one model (any checkpoint kind).

    Args:
        config (str | Config): The model's config.
        checkpoint (str): A full, merged or adapter-only checkpoint (a file
            or an address). Required: None is refused, as a model without
            trained weights answers at random (:func:`init_model` builds
            one where that is wanted).
        device (str): Where the model runs, a device this machine has
            (else ``ValueError``). Defaults to ``'cpu'``.
        label_map (str, optional): Class names file, see
            :func:`class_names`; one that is not there is refused
            (``FileNotFoundError``) before anything is read. Defaults to
            None.
        name (str, optional): The task name in results. Defaults to the
            config file's stem.

    Calls from several threads run one at a time (they take :attr:`lock`),
    and each runs the model in eval mode without gradients, then gives
    back each module's own ``training`` flag (see
    :func:`~mmadaptformer.apis.forward_guard.eval_mode`).

    Examples:
        >>> inferencer = ModelInferencer('cfg.py', 'epoch_3.pth')
        >>> results = inferencer(['video.mp4'])
        >>> results['video.mp4']['cfg']['label']
        1
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 label_map: Optional[str] = None,
                 name: Optional[str] = None) -> None:
        check_device_arg(device, 'ModelInferencer')
        check_label_map_file(label_map)
        cfg, source = load_config(config)
        if checkpoint is None:
            raise ValueError(
                f'{source}: ModelInferencer got no checkpoint; give the '
                'trained model\'s checkpoint (a full, merged or adapter-only '
                '.pth file, or an http(s):// address) as checkpoint=. '
                'Without one the head and adapters are random and the '
                'backbone is not even the pretrained one.')
        # One call at a time: the model holds its forward's state.
        self.lock = threading.RLock()
        self.name = name or self.default_name(source)
        if self.name == RESERVED_NAME:
            raise ValueError(
                f'{source}: the task name {self.name!r} (the config file\'s '
                'stem unless name= is given) is reserved: the results mark a '
                'failed input with it. Pass another name.')
        # The test pipeline is the config's: a mistake in it is named
        # before any file is read.
        self.inputs = TestInputs(cfg, source)
        self.model, self.meta = init_model(cfg, checkpoint, device)
        heads = [getattr(self.model, n, None) for n in HEAD_NAMES]
        num_classes = next((getattr(h, 'num_classes', None)
                            for h in heads if h is not None), None)
        self.classes = class_names(cfg, label_map, self.meta, num_classes)

    @staticmethod
    def default_name(config: str) -> str:
        """The task name of a config file in results: its stem."""
        return osp.splitext(osp.basename(config))[0]

    @serialized
    def predict(self, data: List[dict]) -> List[torch.Tensor]:
        """Class scores of already transformed inputs, one batch (one
        forward per input shape, or per input where the model caps its
        views per forward, see :func:`forward_runs`)."""
        init_default_scope(self.inputs.toolbox)
        scores: List[Optional[torch.Tensor]] = [None] * len(data)
        with eval_mode(self.model):
            for run in forward_runs(self.model, data):
                samples = self.model.test_step(
                    pseudo_collate([data[i] for i in run]))
                for index, sample in zip(run, samples):
                    scores[index] = sample.pred_score
        return scores

    @serialized
    def __call__(self,
                 inputs: Union[str, os.PathLike, np.ndarray, Sequence],
                 batch_size: int = 1,
                 progress: bool = False,
                 show_dir: Optional[str] = None,
                 show_topk: int = 3) -> Dict[InputKey, dict]:
        """Classify files and arrays.

        Args:
            inputs (str | os.PathLike | np.ndarray | Sequence): A file or
                folder, or an array (an image ``H x W x 3`` ``uint8`` BGR,
                as ``mmcv.imread`` reads it; a video ``T x H x W x 3``
                ``uint8`` RGB frames, as decord decodes them), or a
                sequence of them (folders are expanded). See
                :mod:`~mmadaptformer.apis.array_inputs`.
            batch_size (int): Inputs per forward (an int >= 1); a model
                whose ``test_cfg`` sets ``max_testing_views`` forwards one
                input at a time (:func:`forward_runs`). Defaults to 1.
            progress (bool): Show a progress bar. Defaults to False.
            show_dir (str, optional): Draw each answered input with its
                ``show_topk`` classes and scores into this folder, as
                MMPretrain's ``ImageClassificationInferencer(show_dir=)``
                does, and log where and which could not be drawn
                (:func:`~mmadaptformer.apis.visualize.draw_and_report`).
                The results are the same. Defaults to None.
            show_topk (int): Classes drawn per input. Defaults to 3.

        Returns:
            dict: ``{key: {task: {"label", "class", "scores"}}}``, or
            ``{key: {"error": message}}`` for an input that failed; the key
            is a file's path (``str``) or an array's index in ``inputs``
            (``int``; 0 for an array given alone). ``json.dump`` would
            write an index as a string (``"1"``); to write the results as
            JSON, key them by name first
            (:func:`~mmadaptformer.apis.array_inputs.named_results`:
            ``"inputs[1]"``).

        Raises:
            ValueError: If ``batch_size`` is not an int >= 1, or
                ``show_dir`` or ``show_topk`` cannot be used
                (:func:`~mmadaptformer.apis.show_dir.check_show_dir`),
                before anything is classified.
            TypeError: If an input is neither a path nor an array (a PIL
                image: with the conversion to a BGR array), or ``show_dir``
                is not a path.
            InferenceInputError: If a folder holds no file of the kind the
                model classifies, or an array is not of the layout it
                takes (naming its index, shape and dtype), before anything
                is classified.
        """
        check_batch_size(batch_size)
        items = self.inputs.items(inputs)
        if show_dir is not None:
            check_show_dir(show_dir, items, inputs, self.inputs.kind,
                           show_topk)
        results = OrderedDict((key, None) for key, _ in items)
        bar = progress_bar(len(items)) if progress else None
        for start in range(0, len(items), batch_size):
            batch, keys = [], []
            for key, item in items[start:start + batch_size]:
                try:
                    batch.append(self.inputs.load(key, item))
                    keys.append(key)
                except InferenceInputError as e:
                    results[key] = dict(error=str(e))
            if batch:
                for key, scores in zip(keys, self.predict(batch)):
                    results[key] = {
                        self.name: format_scores(scores, self.classes)
                    }
            if bar is not None:
                for _ in items[start:start + batch_size]:
                    bar.update()
        if show_dir is not None:
            draw_and_report(results, {self.name: self.classes},
                            os.fspath(show_dir), show_topk, self.inputs.kind,
                            self.inputs.frames, dict(items))
        return results
