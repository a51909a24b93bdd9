# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Classify videos and images with one trained model.

The model is built from its config and loaded with
:func:`mmengine.runner.load_checkpoint`, the path ``init_recognizer`` and
mmpretrain's ``get_model`` take, so every check of the model's own load path
applies. On top of that, :func:`init_model` refuses what a non-strict load
would let through: a full checkpoint that leaves keys unloaded, and an
adapter-only checkpoint whose frozen part differs from the weights it was
trained on (``meta['adapter_checkpoint']['frozen_digest']``).

Inputs run through the config's test pipeline
(``test_dataloader.dataset.pipeline``) and the model's ``test_step``, so a
video gets the scores ``tools/test.py --dump`` gives it, views included.
"""
import copy
import glob
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint
from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.utils.fingerprint import digest, state_fingerprints
from mmadaptformer.utils.state_dict_check import check_state_dict

__all__ = [
    'VIDEO_EXTENSIONS', 'IMAGE_EXTENSIONS', 'InferenceInputError',
    'toolbox_of', 'init_model', 'check_adapter_checkpoint', 'class_names',
    'collect_inputs', 'test_pipeline_cfg', 'TestInputs', 'format_scores',
    'ModelInferencer', 'progress_bar'
]

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.mpg',
                    '.mpeg', '.flv', '.wmv')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif',
                    '.tiff', '.webp')
_TOOLBOXES = ('mmaction', 'mmpretrain')


class InferenceInputError(ValueError):
    """An input file cannot be classified; the message names the file."""


def toolbox_of(cfg: Config, source: str = 'config') -> str:
    """``'mmaction'`` (videos) or ``'mmpretrain'`` (images), from the
    config's ``default_scope``.

    Args:
        cfg (Config): A model config.
        source (str): How the config is named in errors. Defaults to
            ``'config'``.

    Returns:
        str: The toolbox.
    """
    scope = cfg.get('default_scope', None)
    if scope not in _TOOLBOXES:
        raise ValueError(
            f'{source}: default_scope is {scope!r}, but inference needs '
            f'one of {_TOOLBOXES} (mmaction for video configs, mmpretrain '
            'for image configs).')
    return scope


def _load_config(config: Union[str, Config]) -> Tuple[Config, str]:
    if isinstance(config, Config):
        return copy.deepcopy(config), config.filename or '<Config>'
    if not osp.isfile(config):
        raise FileNotFoundError(f'Config file {config} does not exist.')
    return Config.fromfile(config), str(config)


def check_adapter_checkpoint(model: nn.Module, checkpoint: dict,
                             source: str) -> Optional[str]:
    """Check that an adapter-only checkpoint runs on the loaded backbone.

    Args:
        model (nn.Module): The model after loading ``checkpoint``.
        checkpoint (dict): The loaded checkpoint.
        source (str): The checkpoint file, for errors.

    Returns:
        str, optional: The frozen digest of an adapter-only checkpoint, None
        for other checkpoints.

    Raises:
        RuntimeError: If the model's frozen tensors are not the ones the
            adapters were trained on.
    """
    info = (checkpoint.get('meta') or {}).get(ADAPTER_META_KEY)
    if info is None:
        return None
    saved = set(info['saved_keys'])
    fingerprints = state_fingerprints(
        (k, v) for k, v in model.state_dict().items() if k not in saved)
    actual = digest(fingerprints)
    if actual != info['frozen_digest']:
        raise RuntimeError(
            f'{source}: adapter-only checkpoint trained on a different frozen '
            f'backbone: it records {info.get("frozen_keys")} frozen tensors '
            f'with digest {info["frozen_digest"][:16]}..., but the model '
            f'built from the config has {len(fingerprints)} with digest '
            f'{actual[:16]}.... Point the config\'s pretrained path (the '
            'backbone\'s init_cfg checkpoint) at the weights the adapters '
            'were trained on.')
    return info['frozen_digest']


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu'
               ) -> Tuple[nn.Module, dict]:
    """Build a video or image classifier and load a checkpoint into it.

    Like mmaction2's ``init_recognizer`` and mmpretrain's ``get_model``
    (build, then :func:`mmengine.runner.load_checkpoint`), and stricter: a
    full or merged checkpoint must fill every key of the model, and an
    adapter-only checkpoint every trainable key on the backbone it was
    trained on (the config's pretrained path).

    Args:
        config (str | Config): The config file or object.
        checkpoint (str, optional): The checkpoint file. Defaults to None
            (weights as built).
        device (str | torch.device): Defaults to ``'cpu'``.

    Returns:
        tuple: The model (eval mode, ``model.cfg`` set) and the checkpoint's
        ``meta`` (empty without a checkpoint).
    """
    cfg, source = _load_config(config)
    scope = toolbox_of(cfg, source)
    init_default_scope(scope)
    model_cfg = copy.deepcopy(cfg.model)
    if scope == 'mmpretrain':
        model_cfg.setdefault('data_preprocessor',
                             cfg.get('data_preprocessor', None))
    model = MODELS.build(model_cfg)
    meta = {}
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'Checkpoint file {checkpoint} does not exist.')
        # MMEngine's own report of missing keys is silenced: an adapter-only
        # checkpoint lacks the frozen keys by design, and check_state_dict
        # below refuses whatever else does not fit, naming it.
        ckpt = load_checkpoint(
            model, checkpoint, map_location='cpu', logger='silent')
        meta = ckpt.get('meta') or {}
        state = ckpt.get('state_dict', ckpt)
        if meta.get(ADAPTER_META_KEY) is not None:
            # The frozen part comes from the config's pretrained path;
            # check_adapter_checkpoint checks it is the right one.
            full = OrderedDict(model.state_dict())
            full.update(state)
            state = full
        check_state_dict(
            model,
            state,
            source=f'{checkpoint} (config {source})',
            allow_fresh=False,
            hint='Is it a checkpoint of this config\'s model?')
        check_adapter_checkpoint(model, ckpt, checkpoint)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model, meta


def class_names(cfg: Config,
                label_map: Optional[str] = None) -> Optional[List[str]]:
    """The class names of a config's test set, if anything names them.

    Looked up in this order: ``label_map`` (a file with the class of label
    ``i`` on line ``i + 1``, as the data tools write it), the test dataset's
    ``metainfo['classes']`` or ``classes``, a single ``*label_map.txt`` next
    to its ``ann_file`` (what ``tools/data/*`` write), and for mmpretrain's
    ``CustomDataset`` the sorted class folders under
    ``data_root/data_prefix``.

    Args:
        cfg (Config): The config.
        label_map (str, optional): A label map file. Defaults to None.

    Returns:
        list[str], optional: The names, or None.
    """
    if label_map is not None:
        with open(label_map, encoding='utf-8') as f:
            return [line.strip() for line in f if line.strip()]
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    # Wrapped datasets (e.g. RepeatDataset) keep theirs in ``dataset``.
    while 'dataset' in dataset and isinstance(dataset['dataset'], dict):
        dataset = dataset['dataset']
    metainfo = dataset.get('metainfo') or {}
    classes = metainfo.get('classes', dataset.get('classes'))
    if isinstance(classes, str) and osp.isfile(classes):
        return class_names(cfg, label_map=classes)
    if classes:
        return [str(c) for c in classes]
    ann_file = dataset.get('ann_file')
    if isinstance(ann_file, str) and ann_file:
        maps = sorted(
            glob.glob(osp.join(osp.dirname(ann_file), '*label_map.txt')))
        if len(maps) == 1:
            return class_names(cfg, label_map=maps[0])
    if dataset.get('type') in ('CustomDataset', 'mmpretrain.CustomDataset'):
        prefix = dataset.get('data_prefix', '')
        if isinstance(prefix, dict):
            prefix = prefix.get('img_path', '')
        folder = osp.join(dataset.get('data_root', ''), prefix)
        if osp.isdir(folder):
            names = sorted(d for d in os.listdir(folder)
                           if osp.isdir(osp.join(folder, d)))
            if names:
                return names
    return None


def collect_inputs(paths: Sequence[str]) -> List[str]:
    """Expand folders into their video and image files (sorted, recursive).

    Files are kept as given, whatever their extension, so that a missing or
    unreadable file gets its own error instead of disappearing.

    Args:
        paths (Sequence[str]): Files and folders.

    Returns:
        list[str]: Files, in the given order, folders expanded.
    """
    files = []
    for path in paths:
        if osp.isdir(path):
            found = []
            for root, _, names in os.walk(path):
                found += [
                    osp.join(root, name) for name in names
                    if name.lower().endswith(VIDEO_EXTENSIONS +
                                             IMAGE_EXTENSIONS)
                ]
            files += sorted(found)
        else:
            files.append(path)
    return files


def test_pipeline_cfg(cfg: Config, source: str = 'config') -> list:
    """The config's test pipeline: ``test_dataloader.dataset.pipeline``,
    else the top-level ``test_pipeline``.

    Args:
        cfg (Config): The config.
        source (str): How the config is named in errors.

    Returns:
        list[dict]: A copy of the pipeline.
    """
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    while 'pipeline' not in dataset and isinstance(
            dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    pipeline = dataset.get('pipeline', cfg.get('test_pipeline', None))
    if not pipeline:
        raise KeyError(f'{source}: neither test_dataloader.dataset.pipeline '
                       'nor test_pipeline is set.')
    return copy.deepcopy(list(pipeline))


class TestInputs:
    """Turn files into model inputs with a config's test pipeline.

    Args:
        cfg (Config): The config (its ``default_scope`` picks video or
            image inputs).
        source (str): How the config is named in errors.
    """

    def __init__(self, cfg: Config, source: str = 'config') -> None:
        self.toolbox = toolbox_of(cfg, source)
        self.pipeline_cfg = test_pipeline_cfg(cfg, source)
        init_default_scope(self.toolbox)
        self.pipeline = Compose(copy.deepcopy(self.pipeline_cfg))
        self.extensions = (VIDEO_EXTENSIONS if self.toolbox == 'mmaction' else
                           IMAGE_EXTENSIONS)

    @property
    def kind(self) -> str:
        return 'video' if self.toolbox == 'mmaction' else 'image'

    def __call__(self, path: str) -> dict:
        """Load and transform one file.

        Raises:
            InferenceInputError: Naming the file, if it is missing, of the
                wrong kind or cannot be decoded.
        """
        if not osp.exists(path):
            raise InferenceInputError(f'{path}: no such file.')
        if osp.isdir(path):
            raise InferenceInputError(f'{path}: is a folder.')
        ext = osp.splitext(path)[1].lower()
        if ext not in self.extensions:
            other = 'an image' if ext in IMAGE_EXTENSIONS else (
                'a video' if ext in VIDEO_EXTENSIONS else
                'neither a video nor an image')
            raise InferenceInputError(
                f'{path}: is {other} (extension {ext!r}), but this model '
                f'classifies {self.kind}s; expected one of '
                f'{", ".join(self.extensions)}.')
        if self.toolbox == 'mmaction':
            data = dict(filename=path, label=-1, start_index=0, modality='RGB')
        else:
            data = dict(img_path=path)
        init_default_scope(self.toolbox)
        try:
            out = self.pipeline(data)
        except Exception as e:
            raise InferenceInputError(
                f'{path}: cannot be decoded as a {self.kind} '
                f'({type(e).__name__}: {e}).') from e
        if out is None:
            raise InferenceInputError(
                f'{path}: the test pipeline dropped it (no {self.kind} '
                'data).')
        return out


def format_scores(scores: torch.Tensor,
                  classes: Optional[Sequence[str]]) -> dict:
    """One task's answer for one input, as it goes into the JSON.

    Args:
        scores (Tensor): Class scores, shape ``(num_classes, )``.
        classes (Sequence[str], optional): Class names.

    Returns:
        dict: ``{"label": int, "class": str or None, "scores": [float]}``.
    """
    scores = scores.detach().float().cpu()
    label = int(scores.argmax())
    name = None
    if classes is not None and label < len(classes):
        name = classes[label]
    return dict(label=label, **{'class': name}, scores=scores.tolist())


class ModelInferencer:
    """Classify videos or images with one model (any checkpoint kind).

    Args:
        config (str | Config): The model's config.
        checkpoint (str, optional): A full, merged or adapter-only
            checkpoint. Defaults to None.
        device (str): Defaults to ``'cpu'``.
        label_map (str, optional): Class names file, see
            :func:`class_names`. Defaults to None.
        name (str, optional): The task name in results. Defaults to the
            config file's stem.

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
        cfg, source = _load_config(config)
        self.name = name or osp.splitext(osp.basename(source))[0]
        self.model, self.meta = init_model(cfg, checkpoint, device)
        self.inputs = TestInputs(cfg, source)
        self.classes = class_names(cfg, label_map)

    def predict(self, data: List[dict]) -> List[torch.Tensor]:
        """Class scores of already transformed inputs, one batch."""
        init_default_scope(self.inputs.toolbox)
        with torch.no_grad():
            samples = self.model.test_step(pseudo_collate(data))
        return [sample.pred_score for sample in samples]

    def __call__(self,
                 inputs: Sequence[str],
                 batch_size: int = 1,
                 progress: bool = False) -> Dict[str, dict]:
        """Classify files.

        Args:
            inputs (Sequence[str]): Files (folders are expanded).
            batch_size (int): Inputs per forward. Defaults to 1.
            progress (bool): Show a progress bar. Defaults to False.

        Returns:
            dict: ``{path: {task: {"label", "class", "scores"}}}``, or
            ``{path: {"error": message}}`` for an input that failed.
        """
        files = collect_inputs(inputs)
        results = OrderedDict((path, None) for path in files)
        bar = progress_bar(len(files)) if progress else None
        for start in range(0, len(files), batch_size):
            batch, paths = [], []
            for path in files[start:start + batch_size]:
                try:
                    batch.append(self.inputs(path))
                    paths.append(path)
                except InferenceInputError as e:
                    results[path] = dict(error=str(e))
            if batch:
                for path, scores in zip(paths, self.predict(batch)):
                    results[path] = {
                        self.name: format_scores(scores, self.classes)
                    }
            if bar is not None:
                for _ in files[start:start + batch_size]:
                    bar.update()
        return results


def progress_bar(total: int):
    """An mmengine ProgressBar on stderr, or None when there is nothing to
    show: one input, output not a terminal, or ``CI=true``.

    Args:
        total (int): Number of steps.
    """
    import sys

    from mmengine.utils import ProgressBar
    if total <= 1 or not sys.stderr.isatty() or \
            os.environ.get('CI', '').lower() in ('1', 'true'):
        return None
    return ProgressBar(total, file=sys.stderr)
