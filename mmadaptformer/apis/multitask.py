# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Many AdaptFormer tasks on one frozen backbone, in one batched forward.

See ``docs/multitask.md`` for the design: the batch layout, the shared
prefix, what a task costs in memory, which tasks are refused and how inputs
are grouped by test pipeline.
"""
import copy
import json
import os.path as osp
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Union

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.models import KNOWN_BLOCK_TYPES, AdaptMLP, inject_adapters
from mmadaptformer.models.multitask import (MultiTaskAdaptMLP,
                                            TaskRoutedModule, TaskStreams)
from .inference import init_model
from .inputs import (InferenceInputError, TestInputs, class_names,
                     collect_inputs, format_scores, progress_bar,
                     test_pipeline_cfg, toolbox_of)

__all__ = ['TaskError', 'MultiTaskRecognizer']

_TASK_NAME = re.compile(r'^[A-Za-z0-9_.\-]+$')
_HEADS = ('cls_head', 'head')


class TaskError(RuntimeError):
    """A task cannot be added; the message names the task."""


@dataclass
class _Task:
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
class _Group:
    inputs: TestInputs
    preprocessor: nn.Module
    tasks: List[str] = field(default_factory=list)


def _qualname(cls: type) -> str:
    return f'{cls.__module__}.{cls.__qualname__}'


def _find_blocks(module: nn.Module, declared: Sequence[str]) -> List[str]:
    """Paths of the transformer blocks of ``module``, in module order."""
    paths = []
    for name, child in module.named_modules():
        cls = type(child)
        if _qualname(cls) in KNOWN_BLOCK_TYPES or cls.__name__ in declared \
                or _qualname(cls) in declared:
            if not any(name.startswith(p + '.') for p in paths):
                paths.append(name)
    return paths


def _backbone_signature(cfg: Config) -> dict:
    """The host backbone's config without weights or adapter settings."""
    backbone = copy.deepcopy(cfg.model.get('backbone', {}))
    backbone = backbone.to_dict() if hasattr(backbone,
                                             'to_dict') else dict(backbone)
    placement = None
    if str(backbone.get('type', '')).split('.')[-1] in ('AdaptFormer', ):
        placement = backbone.get('placement', 'parallel')
        backbone = dict(backbone['backbone'])
    for key in ('init_cfg', 'pretrained'):
        backbone.pop(key, None)
    return dict(
        recognizer=cfg.model.get('type'),
        backbone=backbone,
        placement=placement)


def _head_of(model: nn.Module, source: str) -> tuple:
    for name in _HEADS:
        head = getattr(model, name, None)
        if isinstance(head, nn.Module):
            return name, head
    raise TaskError(f'{source}: the model has no cls_head or head.')


def _owners(model: nn.Module) -> Dict[int, str]:
    """``id(tensor) -> path of the module that holds it directly``."""
    owners = {}
    for path, module in model.named_modules():
        for _, tensor in list(module.named_parameters(recurse=False)) + \
                list(module.named_buffers(recurse=False)):
            owners[id(tensor)] = path
    return owners


class MultiTaskRecognizer:
    """Serve many AdaptFormer tasks with one frozen backbone.

    Each task is a config and a checkpoint (adapter-only, merged or full) of
    a model trained on the same frozen backbone. The first task's model is
    kept as the shared backbone; of every other task only the adapters, the
    head and the backbone modules it trained (such as ``fc_norm``) are kept.
    Every input is answered by every task in one batched forward per test
    pipeline, each sample with its own task's adapters; blocks before a
    task's first adapter run once for all tasks that have not split yet.

    Tasks trained on another backbone (frozen tensors that differ, or
    another backbone config) are refused with an error naming both tasks.

    Args:
        device (str): Where the model runs. Defaults to ``'cpu'``.

    Examples:
        >>> engine = MultiTaskRecognizer()
        >>> engine.add_task('motion', 'motion.py', 'motion/epoch_3.pth')
        >>> engine.add_task('scene', 'scene.py', 'scene/epoch_3.pth')
        >>> results = engine(['a.mp4', 'b.mp4'])
        >>> results['a.mp4']['scene']['label']
        0
    """

    def __init__(self, device: str = 'cpu') -> None:
        self.device = device
        self.streams = TaskStreams()
        self._reset()

    def _reset(self) -> None:
        self.streams.remove()
        self.streams.split_at = {}
        self.base: Optional[nn.Module] = None
        self._tasks: Dict[str, _Task] = OrderedDict()
        self._groups: Dict[str, _Group] = OrderedDict()
        self._signature: Optional[dict] = None
        self._toolbox: Optional[str] = None
        self._blocks: List[nn.Module] = []
        self._block_paths: List[str] = []
        self._key_paths: Dict[str, str] = {}
        self._shared: Dict[str, torch.Tensor] = {}
        self._routed_paths: Set[str] = set()
        self._originals: Dict[str, nn.Module] = {}

    @property
    def tasks(self) -> List[str]:
        """Names of the tasks, in the order they were added."""
        return list(self._tasks)

    @property
    def blocks(self) -> List[nn.Module]:
        """The shared backbone's transformer blocks, in order."""
        return list(self._blocks)

    @property
    def pipeline_groups(self) -> List[List[str]]:
        """Tasks grouped by identical test pipeline and data preprocessor:
        each group decodes an input once and runs one forward."""
        return [list(group.tasks) for group in self._groups.values()]

    def classes_of(self, name: str) -> Optional[List[str]]:
        """The class names of a task, if its config names them."""
        self._check_names([name])
        return self._tasks[name].classes

    def add_task(self,
                 name: str,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 label_map: Optional[str] = None) -> None:
        """Load a task: its adapters, head and test pipeline.

        Args:
            name (str): Task name (letters, digits, ``_.-``).
            config (str | Config): The task's config.
            checkpoint (str, optional): Its checkpoint. Defaults to None.
            label_map (str, optional): Class names file, see
                :func:`~mmadaptformer.apis.class_names`. Defaults to None.

        Raises:
            TaskError: Naming the task, if it cannot be served with the
                tasks already loaded, or its model cannot be loaded.
        """
        if not isinstance(name, str) or not _TASK_NAME.match(name):
            raise TaskError(f'Task name {name!r} must be a non-empty string '
                            'of letters, digits, "_", "." and "-".')
        if name in self._tasks:
            raise TaskError(f'Task {name!r} is already loaded.')
        try:
            self._add(name, config, checkpoint, label_map)
        except TaskError:
            raise
        except Exception as e:
            raise TaskError(f'Task {name!r}: {type(e).__name__}: {e}') from e

    def _add(self, name, config, checkpoint, label_map) -> None:
        cfg = config if isinstance(config, Config) else Config.fromfile(config)
        source = cfg.filename or str(config)
        toolbox = toolbox_of(cfg, source)
        signature = _backbone_signature(cfg)
        if self._tasks:
            first = next(iter(self._tasks.values()))
            if toolbox != self._toolbox:
                raise TaskError(
                    f'Task {name!r} ({source}) is a {toolbox} config, but '
                    f'task {first.name!r} is a {self._toolbox} one; one '
                    'backbone serves one toolbox.')
            if signature != self._signature:
                raise TaskError(
                    f'Task {name!r} ({source}) has another model than task '
                    f'{first.name!r} ({first.config}): {signature} vs '
                    f'{self._signature}. All tasks must adapt the same '
                    'backbone (same recognizer, backbone config and adapter '
                    'placement).')
        test_cfg = cfg.model.get('test_cfg') or {}
        if test_cfg.get('max_testing_views'):
            raise TaskError(
                f'Task {name!r} ({source}): model.test_cfg.max_testing_views '
                'is not supported by the multi-task forward; remove it.')
        if cfg.model.get('neck'):
            raise TaskError(
                f'Task {name!r} ({source}): models with a neck are not '
                'supported by the multi-task forward.')

        model, meta = init_model(cfg, checkpoint, self.device)
        info = meta.get(ADAPTER_META_KEY)
        digest = info['frozen_digest'] if info else None
        head_name, head = _head_of(model, source)
        state = model.state_dict(keep_vars=True)
        key_of = {id(v): k for k, v in state.items()}
        owners = _owners(model)
        adapters = {
            path: module
            for path, module in model.named_modules()
            if isinstance(module, AdaptMLP)
        }

        def keys_under(module: nn.Module) -> Set[str]:
            tensors = list(module.parameters()) + list(module.buffers())
            return {key_of[id(t)] for t in tensors if id(t) in key_of}

        adapter_keys = set().union(*[keys_under(m) for m in adapters.values()])
        head_keys = keys_under(head)
        trained = set(info['saved_keys']) if info else set()
        specific = adapter_keys | head_keys | trained
        block_paths = _find_blocks(model, [
            t.get('type')
            for t in (cfg.model.get('backbone', {}).get('block_types') or [])
        ])

        if self.base is None:
            self._adopt_base(name, model, state, specific, block_paths,
                             head_name, toolbox, signature)
        else:
            self._check_frozen(name, source, checkpoint, digest, state,
                               specific)

        task = _Task(
            name=name,
            config=source,
            checkpoint=checkpoint,
            head=head,
            classes=class_names(cfg, label_map),
            group='',
            digest=digest,
            specific_keys=specific - adapter_keys - head_keys)

        # Adapters, by block index.
        for path, adapter in adapters.items():
            block_path = path.rsplit('.', 1)[0]
            if block_path not in block_paths:
                raise TaskError(
                    f'Task {name!r}: adapter {path} is not in a known '
                    'transformer block.')
            index = block_paths.index(block_path)
            self._attach_adapter(index, name, adapter)
            task.blocks.append(index)

        # Other trained backbone modules, by the module holding each key.
        paths = {
            self._key_paths[key]
            for key in task.specific_keys if key in self._key_paths
        }
        self._routed_paths |= paths
        for path in sorted(self._routed_paths):
            mine = self._module_for(model, owners, state, path)
            if path not in paths and path in self._originals:
                # Not trained by this task: the frozen original serves.
                mine = self._originals[path]
            self._route(path, name, mine)
            task.routed[path] = mine

        group_key = json.dumps(
            dict(
                pipeline=test_pipeline_cfg(cfg, source),
                preprocessor=cfg.model.get('data_preprocessor')),
            sort_keys=True,
            default=str)
        if group_key not in self._groups:
            self._groups[group_key] = _Group(
                inputs=TestInputs(cfg, source),
                preprocessor=model.data_preprocessor)
        self._groups[group_key].tasks.append(name)
        task.group = group_key
        self._tasks[name] = task
        self._update_split_points()

    def _adopt_base(self, name, model, state, specific, block_paths, head_name,
                    toolbox, signature) -> None:
        if not block_paths:
            raise TaskError(
                f'Task {name!r}: no transformer block of a known type in '
                f'the model; declare them in model.backbone.block_types.')
        self.base = model
        self._toolbox = toolbox
        self._signature = signature
        self._block_paths = block_paths
        self._blocks = [model.get_submodule(p) for p in block_paths]
        owners = _owners(model)
        self._key_paths = {k: owners[id(v)] for k, v in state.items()}
        self._shared = {
            k: v.detach()
            for k, v in state.items() if k not in specific
        }
        delattr(model, head_name)
        self.streams.install(self._blocks)

    def _check_frozen(self, name, source, checkpoint, digest, state,
                      specific) -> None:
        for other in self._tasks.values():
            if digest and other.digest and digest != other.digest:
                raise TaskError(
                    f'Task {name!r} ({checkpoint}) was trained on another '
                    f'frozen backbone than task {other.name!r} '
                    f'({other.checkpoint}): frozen digests {digest[:16]}... '
                    f'and {other.digest[:16]}... differ.')
        missing = [k for k in self._shared if k not in state]
        differ = [
            k for k in self._shared
            if k in state and k not in specific and not torch.equal(
                self._shared[k], state[k].detach().to(self._shared[k]))
        ]
        if missing or differ:
            first = next(iter(self._tasks.values()))
            raise TaskError(
                f'Task {name!r} ({source}, {checkpoint}) was not trained on '
                f'the backbone of task {first.name!r} ({first.checkpoint}): '
                f'{len(differ)} frozen tensors differ (e.g. '
                f'{differ[:3]}) and {len(missing)} are missing (e.g. '
                f'{missing[:3]}). Load it on its own instead.')

    def _module_for(self, model, owners, state, path) -> nn.Module:
        """The module of ``model`` that holds the base's module ``path``."""
        keys = [k for k, p in self._key_paths.items() if p == path]
        paths = {owners[id(state[k])] for k in keys if k in state}
        if len(paths) != 1:
            raise TaskError(f'Cannot find the module {path!r} in the task.')
        return model.get_submodule(paths.pop())

    def _route(self, path: str, name: str, module: nn.Module) -> None:
        parent_path, _, attr = path.rpartition('.')
        parent = self.base.get_submodule(parent_path)
        current = getattr(parent, attr)
        if not isinstance(current, TaskRoutedModule):
            if self._tasks:
                # Frozen for every task loaded so far: they share it.
                self._originals[path] = current
            for task in self._tasks.values():
                task.routed[path] = current
            current = TaskRoutedModule(self.streams,
                                       {t: current
                                        for t in self._tasks})
            setattr(parent, attr, current)
        current.per_task[name] = module.to(self.device)

    def _attach_adapter(self, index: int, name: str,
                        adapter: nn.Module) -> None:
        block = self._blocks[index]
        current = getattr(block, 'adaptmlp', None)
        if isinstance(current, AdaptMLP):
            # The base task's own adapter: wrap it.
            owner = next(iter(self._tasks), name)
            current = MultiTaskAdaptMLP(self.streams, {owner: current})
            block.adaptmlp = current
        elif current is None:
            # No task had an adapter here: add the hooks, then the module.
            inject_adapters(
                self.base.backbone,
                adapter=dict(bottleneck=1),
                layers=[index],
                placement=self._signature['placement'] or 'parallel')
            current = MultiTaskAdaptMLP(self.streams)
            block.adaptmlp = current
        current.adapters[name] = adapter.to(self.device)

    def _split_point(self, task: _Task) -> Optional[int]:
        points = list(task.blocks)
        for path, module in task.routed.items():
            if all(
                    other.routed.get(path) is module
                    for other in self._tasks.values()):
                continue
            inside = [
                i for i, p in enumerate(self._block_paths)
                if path.startswith(p + '.')
            ]
            points.append(inside[0] if inside else len(self._blocks))
        return min(points) if points else None

    def _update_split_points(self) -> None:
        self.streams.split_at = {
            name: self._split_point(task)
            for name, task in self._tasks.items()
        }

    def remove_task(self, name: str) -> None:
        """Unload a task: its adapters, head and routed modules.

        Args:
            name (str): The task.
        """
        self._check_names([name])
        task = self._tasks.pop(name)
        for module in self.base.modules():
            if isinstance(module, MultiTaskAdaptMLP) and \
                    name in module.adapters:
                del module.adapters[name]
            if isinstance(module, TaskRoutedModule) and \
                    name in module.per_task:
                del module.per_task[name]
        group = self._groups[task.group]
        group.tasks.remove(name)
        if not group.tasks:
            del self._groups[task.group]
        if not self._tasks:
            self._reset()
            return
        self._update_split_points()

    def _check_names(self, names: Sequence[str]) -> None:
        unknown = [n for n in names if n not in self._tasks]
        if unknown:
            raise KeyError(f'Unknown tasks {unknown}; the loaded tasks are '
                           f'{self.tasks}.')

    def _forward_group(self, group: _Group, tasks: Sequence[str],
                       data: List[dict]) -> Dict[str, List[torch.Tensor]]:
        """Class scores of every task for a batch of transformed inputs.

        Args:
            group (_Group): The pipeline group the inputs went through.
            tasks (Sequence[str]): Tasks of that group to answer.
            data (list[dict]): Outputs of the group's test pipeline.

        Returns:
            dict[str, list[Tensor]]: Scores per task, one per input.
        """
        init_default_scope(self._toolbox)
        batch = group.preprocessor(pseudo_collate(data), False)
        inputs, samples = batch['inputs'], batch['data_samples']
        self.streams.begin(tasks)
        try:
            with torch.no_grad():
                if self._toolbox == 'mmaction':
                    feats, kwargs = self.base.extract_feat(
                        inputs, test_mode=True)
                else:
                    feats, kwargs = self.base.extract_feat(inputs), {}
                rows = (feats[-1]
                        if isinstance(feats, tuple) else feats).shape[0]
                out = {}
                for name in tasks:
                    part = self.streams.slice_of(name, rows)
                    mine = (
                        tuple(f[part] for f in feats) if isinstance(
                            feats, tuple) else feats[part])
                    preds = self._tasks[name].head.predict(
                        mine, copy.deepcopy(samples), **kwargs)
                    out[name] = [p.pred_score for p in preds]
        finally:
            self.streams.end()
        return out

    def predict(
        self,
        data: List[dict],
        tasks: Optional[Sequence[str]] = None
    ) -> Dict[str, List[torch.Tensor]]:
        """Class scores of test-pipeline outputs, in one batched forward.

        Args:
            data (list[dict]): Outputs of the tasks' (common) test pipeline.
            tasks (Sequence[str], optional): Tasks, all of one pipeline
                group. Defaults to None, i.e. all.

        Returns:
            dict[str, list[Tensor]]: Scores per task, one per input.
        """
        tasks = self.tasks if tasks is None else list(tasks)
        self._check_names(tasks)
        groups = {self._tasks[name].group for name in tasks}
        if len(groups) != 1:
            raise ValueError(
                f'Tasks {tasks} have different test pipelines or data '
                'preprocessors; predict() takes tasks of one group.')
        return self._forward_group(self._groups[groups.pop()], tasks, data)

    def __call__(self,
                 inputs: Sequence[str],
                 tasks: Optional[Sequence[str]] = None,
                 batch_size: int = 1,
                 progress: bool = False) -> Dict[str, dict]:
        """Answer every task for every input.

        Args:
            inputs (Sequence[str]): Video or image files, or folders.
            tasks (Sequence[str], optional): Tasks to answer. Defaults to
                None, i.e. all.
            batch_size (int): Inputs per forward. Defaults to 1.
            progress (bool): Show a progress bar. Defaults to False.

        Returns:
            dict: ``{path: {task: {"label", "class", "scores"}}}``; an input
            that fails for every task gets ``{"error": message}``, one that
            fails for some tasks ``{task: {"error": message}}`` for those.

        Raises:
            KeyError: If a task is not loaded.
        """
        tasks = self.tasks if tasks is None else list(tasks)
        self._check_names(tasks)
        if not tasks:
            raise KeyError('No task is loaded; call add_task first.')
        files = collect_inputs(inputs)
        results = OrderedDict((path, OrderedDict()) for path in files)
        bar = progress_bar(len(files)) if progress else None
        for start in range(0, len(files), batch_size):
            chunk = files[start:start + batch_size]
            for group in self._groups.values():
                names = [t for t in group.tasks if t in tasks]
                if not names:
                    continue
                data, paths = [], []
                for path in chunk:
                    try:
                        data.append(group.inputs(path))
                        paths.append(path)
                    except InferenceInputError as e:
                        for name in names:
                            results[path][name] = dict(error=str(e))
                if not data:
                    continue
                scores = self._forward_group(group, names, data)
                for name in names:
                    classes = self._tasks[name].classes
                    for path, score in zip(paths, scores[name]):
                        results[path][name] = format_scores(score, classes)
            if bar is not None:
                for _ in chunk:
                    bar.update()
        for path, answers in results.items():
            errors = {a['error'] for a in answers.values() if 'error' in a}
            if len(errors) == 1 and all('error' in a
                                        for a in answers.values()):
                results[path] = dict(error=errors.pop())
        return results

    def num_tensor_elements(self) -> int:
        """Elements of every distinct parameter and buffer held: the shared
        backbone, each task's adapters, heads and routed modules, and each
        pipeline group's data preprocessor."""
        modules = [self.base] if self.base is not None else []
        modules += [t.head for t in self._tasks.values()]
        modules += [g.preprocessor for g in self._groups.values()]
        seen = {}
        for module in modules:
            for tensor in list(module.parameters()) + list(module.buffers()):
                seen[id(tensor)] = tensor.numel()
        return sum(seen.values())

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(tasks={self.tasks}, '
                f'split_at={self.streams.split_at})')

    @staticmethod
    def task_name_of(config: str) -> str:
        """The default task name of a config: its file stem."""
        return osp.splitext(osp.basename(config))[0]
