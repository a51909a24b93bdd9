# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tasks of a :class:`~mmadaptformer.apis.MultiTaskRecognizer`: what is
kept of each, and which tasks are refused.

See ``docs/multitask.md`` for the design. A task is refused when it cannot
share the backbone of the tasks already loaded (another toolbox, backbone
config or frozen tensors: :mod:`mmadaptformer.apis.backbone_match`) or when
the multi-task forward cannot run it (the ``check_*`` functions here).
"""
import json
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Set

import torch
from mmengine.config import Config
from torch import nn

from mmadaptformer.engine import adapter_hook_cfg
from mmadaptformer.models import plan_trainable
from mmadaptformer.models.adapters.trainable import find_head
from mmadaptformer.models.hosts import block_spec, host_spec, qualname
from mmadaptformer.utils import HEAD_NAMES
from .config_read import model_config
from .frame_folders import FrameFolders
from .inputs import RESERVED_NAME, TestInputs
from .test_pipeline import test_pipeline_cfg

__all__ = [
    'TaskError', 'TaskLoadError', 'Task', 'PipelineGroup', 'check_task_name',
    'check_servable', 'check_batch_first', 'check_side_stream', 'head_of',
    'tensor_owners', 'tensors_of', 'pipeline_group_key'
]

_TASK_NAME = re.compile(r'^[A-Za-z0-9_.\-]+$')


class TaskError(RuntimeError):
    """A task cannot be added; the message names the task."""


class TaskLoadError(TaskError):
    """A task's model could not be loaded: its config, its pretrained
    backbone or its checkpoint failed, as ``__cause__`` says (a
    :class:`~mmadaptformer.apis.PretrainedLoadError` for the pretrained
    backbone); the message names the task and that error."""


@dataclass
class Task:
    """What is kept of one loaded task.

    Attributes:
        name (str): The task name.
        config (str): Its config file.
        checkpoint (str, optional): Its checkpoint.
        head (nn.Module): Its head.
        classes (list[str], optional): Its class names.
        group (str): Key of its :class:`PipelineGroup`.
        digest (str, optional): Digest of the frozen backbone it was trained
            on, from an adapter-only checkpoint.
        blocks (list[int]): Indices of the blocks holding its adapters.
        routed (dict[str, nn.Module]): Its module for every routed path.
        specific_keys (set[str]): Trained backbone keys other than adapters
            and head.
    """
    name: str
    config: str
    checkpoint: Optional[str]
    head: nn.Module
    classes: Optional[List[str]]
    group: str
    digest: Optional[str]
    blocks: List[int] = field(default_factory=list)
    routed: Dict[str, nn.Module] = field(default_factory=dict)
    specific_keys: Set[str] = field(default_factory=set)


@dataclass
class PipelineGroup:
    """Tasks with one test pipeline and data preprocessor.

    Attributes:
        inputs (TestInputs): Their test pipeline.
        preprocessor (nn.Module): Their data preprocessor.
        tasks (list[str]): Their names, in the order they were added.
    """
    inputs: TestInputs
    preprocessor: nn.Module
    tasks: List[str] = field(default_factory=list)


def check_task_name(name: str, loaded: Mapping[str, Task]) -> None:
    """Refuse a malformed task name or one already loaded.

    Raises:
        TaskError: Naming the task.
    """
    if not isinstance(name, str) or not _TASK_NAME.match(name):
        raise TaskError(f'Task name {name!r} must be a non-empty string '
                        'of letters, digits, "_", "." and "-".')
    if name == RESERVED_NAME:
        raise TaskError(f'Task name {name!r} is reserved: the results mark '
                        'a failed input or task with it.')
    if name in loaded:
        task = loaded[name]
        raise TaskError(
            f'Task {name!r} is already loaded ({task.config}, '
            f'{task.checkpoint}); the results are keyed by task name, so '
            f'give this one another name, or remove_task({name!r}) first '
            'to replace it.')


def check_servable(name: str, cfg: Config, source: str) -> None:
    """Refuse a model the multi-task forward cannot run.

    Raises:
        TaskError: Naming the task and what to change.
    """
    test_cfg = cfg.model.get('test_cfg') or {}
    if test_cfg.get('max_testing_views'):
        raise TaskError(
            f'Task {name!r} ({source}): model.test_cfg.max_testing_views '
            'is not supported by the multi-task forward; remove it.')
    out_indices = (cfg.model.get('backbone') or {}).get('out_indices')
    inner = (cfg.model.get('backbone') or {}).get('backbone')
    if out_indices is None and isinstance(inner, dict):
        out_indices = inner.get('out_indices')
    if isinstance(out_indices, (list, tuple)) and len(out_indices) > 1:
        raise TaskError(
            f'Task {name!r} ({source}): the backbone has {len(out_indices)} '
            f'out_indices {list(out_indices)}; the multi-task forward splits '
            'the tasks inside the blocks and serves one output, the last. '
            'Set out_indices to one index.')
    if cfg.model.get('neck') and cfg.get('default_scope') != 'mmpretrain':
        raise TaskError(
            f'Task {name!r} ({source}): video models with a neck are not '
            'supported by the multi-task forward.')


def check_batch_first(name: str, model: nn.Module, blocks: Sequence[str],
                      source: str) -> None:
    """Refuse a model whose blocks do not hold the samples along dim 0.

    The multi-task forward lays the task streams out along dim 0 of each
    block's first input and cuts them there inside the adapters. That is
    right when dim 0 holds the samples, even folded sample-major with time
    or windows, and wrong otherwise: for a sequence-first ``(L, N, C)``
    block (UniFormerV2) it would mix the tasks' samples. The layout of each
    known block is :attr:`~mmadaptformer.models.HostSpec.batch_first`.

    Args:
        name (str): The task.
        model (nn.Module): Its model.
        blocks (Sequence[str]): Paths of its transformer blocks.
        source (str): Its config file.

    Raises:
        TaskError: Naming the task, the block type and why.
    """
    for path in blocks:
        cls = type(model.get_submodule(path))
        spec = block_spec(cls)
        if spec is not None and not spec.batch_first:
            backbone = spec.backbone.rsplit('.', 1)[-1]
            raise TaskError(
                f'Task {name!r} ({source}): its blocks {cls.__name__} '
                f'({qualname(cls)}, in {backbone}) are '
                'not batch-first: dim 0 of their input is not the samples '
                '(e.g. a sequence-first (L, N, C) input), but the '
                'multi-task forward lays the tasks out along dim 0, so it '
                'would mix their samples. Serve it alone (ModelInferencer, '
                'tools/infer.py without --task).')


def check_side_stream(name: str, model: nn.Module, source: str) -> None:
    """Refuse a host that carries per-sample state past its blocks besides
    their inputs (:attr:`~mmadaptformer.models.HostSpec.side_stream`): the
    tasks get their own rows in the blocks' inputs only, so that state
    would not fit them (a shape error, or wrong scores).

    Raises:
        TaskError: Naming the task, the host and why.
    """
    for module in model.modules():
        spec = host_spec(type(module))
        if spec is not None and spec.side_stream is not None:
            block = spec.block.rsplit('.', 1)[-1]
            raise TaskError(
                f'Task {name!r} ({source}): the multi-task forward cannot '
                f'serve {type(module).__name__} ({qualname(type(module))}): '
                f'{spec.side_stream}. It gives each task its own rows only '
                f'in the inputs of the {block} blocks, so the rest would keep '
                'one row per sample. Serve it alone (ModelInferencer, '
                'tools/infer.py without --task).')


def check_shared_neck(name: str, model: nn.Module, source: str) -> None:
    """Refuse a neck with weights: the shared model's neck runs once on
    every task's rows, so it must hold nothing a task could have trained
    (e.g. mmpretrain's ``GlobalAveragePooling`` after Swin).

    Raises:
        TaskError: Naming the task and the neck.
    """
    neck = getattr(model, 'neck', None)
    if not isinstance(neck, nn.Module):
        return
    tensors = list(neck.parameters()) + list(neck.buffers())
    if tensors:
        raise TaskError(
            f'Task {name!r} ({source}): its neck {type(neck).__name__} '
            f'holds {sum(t.numel() for t in tensors)} weights; the '
            'multi-task forward shares the neck between tasks, so only a '
            'neck without weights (e.g. GlobalAveragePooling) is supported.')


def trained_keys_of(cfg: Config, model: nn.Module, source: str) -> Set[str]:
    """The keys a merged or full checkpoint's task trained, from its config.

    An adapter-only checkpoint lists them (``saved_keys``); a merged or full
    one does not, so the config's ``AdapterHook`` says which parts trained,
    as in training (e.g. the video recipes' ``fc_norm`` through
    ``extra_trainable``). Without those keys a trained ``fc_norm`` would be
    compared with the shared backbone's as if it were frozen.

    Args:
        cfg (Config): The task's config.
        model (nn.Module): Its model, built from ``cfg``.
        source (str): The config file, for errors.

    Returns:
        set[str]: State-dict keys of every trainable part (adapters, head,
        ``extra_trainable``); empty without an ``AdapterHook``.

    Raises:
        TaskError: If the hook's settings do not fit the model.
    """
    hook = adapter_hook_cfg(cfg)
    if hook is None:
        return set()
    # A pattern that matches nothing trained nothing (training would have
    # refused it): it does not make the task unservable.
    extra = hook.get('extra_trainable', ())
    params = [
        key for key, value in model.state_dict(keep_vars=True).items()
        if isinstance(value, nn.Parameter)
    ]
    extra = [
        pattern for pattern in ([extra] if isinstance(extra, str) else extra)
        if any(re.search(pattern, key) for key in params)
    ]
    try:
        plan = plan_trainable(
            model,
            mode=hook.get('mode', 'adaptformer'),
            head=hook.get('head', HEAD_NAMES),
            extra_trainable=extra)
    except ValueError as e:
        raise TaskError(f'{source}: its AdapterHook does not fit its '
                        f'model: {e}') from e
    return set(plan.saved_keys)


def head_of(model: nn.Module, source: str) -> tuple:
    """``(attribute, head)`` of a recognizer or classifier.

    Raises:
        TaskError: If the model has no head.
    """
    found = find_head(model)
    if found is not None:
        return found
    raise TaskError(f'{source}: the model has no cls_head or head.')


def tensor_owners(model: nn.Module) -> Dict[int, str]:
    """``id(tensor) -> path of the module that holds it directly``."""
    owners = {}
    for path, module in model.named_modules():
        for _, tensor in list(module.named_parameters(recurse=False)) + \
                list(module.named_buffers(recurse=False)):
            owners[id(tensor)] = path
    return owners


def tensors_of(module: nn.Module, recurse: bool = True) -> List[torch.Tensor]:
    """The parameters and buffers of a module (of its children too, unless
    ``recurse`` is False)."""
    return list(module.parameters(recurse=recurse)) + list(
        module.buffers(recurse=recurse))


#: Data preprocessor settings that only act in training (mixing
#: augmentations and the one-hot labels they need): tasks that differ in
#: them alone, e.g. in an mmpretrain config's ``num_classes``, preprocess
#: test inputs alike.
TRAINING_ONLY_PREPROCESSOR_KEYS = ('num_classes', 'batch_augments', 'blending',
                                   'to_onehot')


def pipeline_group_key(cfg: Config, source: str, toolbox: str) -> str:
    """The :class:`PipelineGroup` of a task: its test pipeline and the data
    preprocessor its model is built with (an mmpretrain config's top-level
    one included), and how its test set names a clip's frames (for a
    rawframe config), as JSON. Tasks that normalise differently must not
    share a group's preprocessor; settings that only act in training
    (:data:`TRAINING_ONLY_PREPROCESSOR_KEYS`) do not count."""
    preprocessor = model_config(cfg, toolbox).get('data_preprocessor')
    if isinstance(preprocessor, dict):
        preprocessor = {
            k: v
            for k, v in preprocessor.items()
            if k not in TRAINING_ONLY_PREPROCESSOR_KEYS
        }
    # Two rawframe tasks' test sets may name a clip's frames differently
    # with one pipeline: the group's inputs read a folder as its tasks'
    # test set names its frames.
    frames = FrameFolders.of_config(cfg, source)
    return json.dumps(
        dict(
            pipeline=test_pipeline_cfg(cfg, source),
            preprocessor=preprocessor,
            frames=None if frames is None else frames.key),
        sort_keys=True,
        default=str)
