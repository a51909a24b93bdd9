# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Classify videos and images with one trained model.

The model is built and its checkpoint loaded by
:func:`~mmadaptformer.apis.model_init.init_model`, with all its checks.
Inputs run through the config's test pipeline
(``test_dataloader.dataset.pipeline``) and the model's ``test_step``, so a
video gets the scores ``tools/test.py --dump`` gives it, views included.
"""
import os
import os.path as osp
import threading
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmadaptformer.utils.default_scope_lock import SCOPE_LOCK
from mmadaptformer.utils.device_check import device_to_use
from mmadaptformer.utils.state_dict_check import HEAD_NAMES
from mmadaptformer.utils.stop_signals import Stopped
from .array_inputs import InputKey
from .batching import check_batch_size, forward_runs
from .checkpoint_read import read_api_files
from .forward_guard import eval_mode, serialized
from .infer_files import InferenceInputError
from .infer_stop import keep_answers
from .inputs import RESERVED_NAME, TestInputs, format_scores, progress_bar
from .label_maps import check_label_map_file
from .model_init import init_model
from .score_classes import class_names
from .show_dir import check_show_dir
from .visualize import draw_and_report

__all__ = ['ModelInferencer']


class ModelInferencer:
    """Classify videos or images with one model (any checkpoint kind).

    Args:
        config (str | Config): The model's config.
        checkpoint (str): A full, merged or adapter-only checkpoint (a file
            or an address). Required: None is refused, as a model without
            trained weights answers at random (:func:`init_model` builds
            one where that is wanted).
        device (str, optional): Where the model runs, a device this
            machine has (else ``ValueError``); None picks one as MMEngine's
            inferencers do (a GPU where there is one). Defaults to
            ``'cpu'``.
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
                 device: Optional[str] = 'cpu',
                 label_map: Optional[str] = None,
                 name: Optional[str] = None) -> None:
        device = device_to_use(device, 'ModelInferencer')
        check_label_map_file(label_map)
        # The checkpoint named in this API's terms; init_model would name
        # it in its own.
        cfg, source, _ = read_api_files('ModelInferencer(config, checkpoint)',
                                        config, checkpoint)
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
        with SCOPE_LOCK:
            self.inputs = TestInputs(cfg, source)
        # It takes the lock itself, but not while it reads the checkpoint.
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
            KeyboardInterrupt: Ctrl-C while classifying (or a tool's
                stop signal, :class:`~mmadaptformer.utils.stop_signals.
                Stopped`), as raised, with two attributes added:
                ``results``, the answers of the inputs classified before
                it (as returned, without the others), and ``num_inputs``,
                how many inputs there were.
        """
        check_batch_size(batch_size)
        items = self.inputs.items(inputs)
        if show_dir is not None:
            check_show_dir(show_dir, items, inputs, self.inputs.kind,
                           show_topk)
        results = OrderedDict((key, None) for key, _ in items)
        bar = progress_bar(len(items)) if progress else None
        try:
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
        except (KeyboardInterrupt, Stopped) as stop:
            keep_answers(
                stop,
                OrderedDict((key, answer) for key, answer in results.items()
                            if answer is not None), len(items), bar)
            raise
        if show_dir is not None:
            draw_and_report(results, {self.name: self.classes},
                            os.fspath(show_dir), show_topk, self.inputs.kind,
                            self.inputs.frames, dict(items))
        return results
