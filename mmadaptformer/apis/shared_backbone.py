# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Load tasks onto one frozen backbone: adopt the first task's model and
attach every other task's adapters, head and trained modules to it.

See ``docs/multitask.md`` for the design; the batched forward over the
loaded tasks is :class:`~mmadaptformer.apis.MultiTaskRecognizer`.
"""
import os.path as osp
import threading
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.config import Config
from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.models.hosts import block_spec
from mmadaptformer.models.multitask import TaskStreams
from mmadaptformer.utils.checkpoint_schemes import reading_once
from mmadaptformer.utils.device_check import device_to_use
from .backbone_match import (check_same_frozen, check_same_model,
                             pretrained_files, shared_backbone_origin)
from .forward_guard import serialized
from .frozen_fingerprints import FrozenFingerprints
from .inputs import TestInputs
from .multitask_tasks import (PipelineGroup, Task, TaskError,
                              check_shared_neck, check_task_name, tensors_of)
from .pretrained_load import read_frozen_pretrained
from .score_classes import class_names
from .task_choice import check_names, chosen_tasks
from .task_parts import TaskParts, load_task
from .task_reading import ReadTask, TaskLabelMapError, as_task_error, read_task
from .task_routes import task_routes
from .task_wiring import (attach_task_adapter, detach_task, route_task_module,
                          task_split_points)

__all__ = ['SharedBackbone', 'TaskLabelMapError']


class SharedBackbone:
    """Tasks loaded onto one frozen backbone.

    The first task's model is kept as the shared backbone; of every other
    task only the adapters, the head and the backbone modules it trained
    (such as ``fc_norm``) are kept, attached to the shared backbone and
    chosen per sample by :class:`~mmadaptformer.models.multitask.TaskStreams`.
    Tasks trained on another backbone are refused (see
    :mod:`mmadaptformer.apis.backbone_match`). Calls from several threads
    are safe: they take :attr:`lock` and run one at a time.

    Args:
        device (str, optional): Where the model runs, a device this
            machine has (else ``ValueError``); None picks one as MMEngine's
            inferencers do (a GPU where there is one). Defaults to
            ``'cpu'``.
    """

    def __init__(self, device: Optional[str] = 'cpu') -> None:
        # Before any task loads; a task's load would fail on it at the
        # first tensor moved there, as if the task were at fault.
        self.device = device_to_use(device, type(self).__name__)
        self.streams = TaskStreams()
        # The streams' layout is per forward and the tasks are shared
        # state: calls from several threads run one at a time.
        self.lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self.streams.remove()
        self.streams.split_at = {}
        self.base: Optional[nn.Module] = None
        self._tasks: Dict[str, Task] = OrderedDict()
        self._groups: Dict[str, PipelineGroup] = OrderedDict()
        self._signature: Optional[dict] = None
        # Where the shared backbone came from, for errors (the task that
        # loaded it may since have been removed).
        self._origin: Optional[str] = None
        self._toolbox: Optional[str] = None
        self._blocks: List[nn.Module] = []
        self._block_paths: List[str] = []
        self._module_order: List[str] = []
        self._key_paths: Dict[str, str] = {}
        self._shared: Dict[str, torch.Tensor] = {}
        self._fingerprints: Optional[FrozenFingerprints] = None
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
        """The class names of a task, if anything names them (see
        :func:`~mmadaptformer.apis.class_names`)."""
        self._check_names([name])
        return self._tasks[name].classes

    def add_task(self,
                 name: str,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 label_map: Optional[str] = None) -> None:
        """Load a task: its adapters, head and test pipeline.

        Its files are read (its checkpoint downloaded) without the engine's
        lock, so the tasks already loaded, and other inferencers, answer
        meanwhile (:mod:`~mmadaptformer.apis.task_reading`); the lock is
        held while its model is built and attached, and every check that
        depends on the tasks loaded is made again then.

        Args:
            name (str): Task name (letters, digits, ``_.-``).
            config (str | Config): The task's config.
            checkpoint (str): Its checkpoint (full, merged or adapter-only;
                a file or an address). Required: None is refused, as a task
                without trained weights answers at random.
            label_map (str, optional): Class names file, see
                :func:`~mmadaptformer.apis.class_names`; one that is not
                there is refused before anything is read. Defaults to None.

        Raises:
            TaskError: Naming the task, if it has no checkpoint or cannot be
                served with the tasks already loaded (a task of that name
                added meanwhile included); a
                :class:`TaskLoadError` if its model cannot be loaded, with
                the error as its ``__cause__``; a :class:`TaskLabelMapError`
                (a ``TaskLoadError`` and a
                :class:`~mmadaptformer.apis.LabelMapError`) if
                ``label_map`` is refused.
        """
        with self.lock:
            tasks = OrderedDict(self._tasks)
            toolbox, signature = self._toolbox, self._signature
            groups = set(self._groups)
        check_task_name(name, tasks)
        if checkpoint is None:
            raise TaskError(
                f'Task {name!r}: add_task got no checkpoint; give the '
                "task's trained checkpoint (a full, merged or adapter-only "
                '.pth file, or an http(s):// address) as checkpoint=. '
                'Without one its head and adapters are random and the '
                'backbone is not even the pretrained one.')
        with as_task_error(name):
            read = read_task(name, config, checkpoint, label_map,
                             next(iter(tasks.values()), None), toolbox,
                             signature, groups)
        # What is read in this scope is not read again in it: the first
        # task's pretrained backbone, read here, loads under the lock.
        with reading_once():
            if not tasks:
                read_frozen_pretrained(read.cfg, read.loaded)
            if not self._attach(read, first_read=not tasks):
                # The engine was emptied meanwhile: the task is the first.
                read_frozen_pretrained(read.cfg, read.loaded)
                self._attach(read, first_read=True)

    @serialized
    def _attach(self, read: ReadTask, first_read: bool) -> bool:
        """:meth:`add_task` under the locks, all or nothing; False, with
        nothing done, if the engine is empty and the pretrained backbone
        of a first task was not read (``first_read``) before the locks."""
        # Added by another thread while this one read its files.
        check_task_name(read.name, self._tasks)
        if not self._tasks and not first_read:
            return False
        with as_task_error(read.name):
            try:
                self._add(read)
            except Exception:
                # Whatever failed, the loaded tasks stay as they were.
                self._undo(read.name)
                raise
        return True

    def _detach(self, name: str) -> None:
        """Take ``name``'s modules out of the shared model (it is no
        longer in ``_tasks``), putting back plain modules the tasks left do
        not route."""
        detach_task(
            self.base,
            self._blocks,
            name,
            tasks=self._tasks,
            key_paths=self._key_paths,
            originals=self._originals,
            shared=self._shared)

    def _undo(self, name: str) -> None:
        """Take back what a failed :meth:`add_task` of ``name`` attached."""
        self._tasks.pop(name, None)
        if not self._tasks:
            self._reset()
            return
        self._detach(name)
        for group_key in list(self._groups):
            group = self._groups[group_key]
            if name in group.tasks:
                group.tasks.remove(name)
            if not group.tasks:
                del self._groups[group_key]
        self._update_split_points()

    def _add(self, read: ReadTask) -> None:
        name, cfg, source = read.name, read.cfg, read.source
        toolbox, signature = read.toolbox, read.signature
        checkpoint, group_key = read.checkpoint, read.group_key
        if self._tasks:
            # Again: the first task may have changed since the read.
            check_same_model(name, source, toolbox, signature,
                             next(iter(self._tasks.values())), self._toolbox,
                             self._signature)
        # Everything that can fail is done before the shared model changes.
        inputs = read.inputs
        if group_key not in self._groups and inputs is None:
            inputs = TestInputs(cfg, source)
        model, meta, parts, light = load_task(name, cfg, source, toolbox,
                                              checkpoint, self.device,
                                              self._origin, self._fingerprints,
                                              read.loaded)
        info = meta.get(ADAPTER_META_KEY)
        digest = info['frozen_digest'] if info else None
        check_shared_neck(name, model, source)
        classes = class_names(cfg, read.label_map, meta,
                              getattr(parts.head, 'num_classes', None), name)
        if self.base is None:
            # What an adapter-only checkpoint leaves out comes from these.
            files = pretrained_files(model) if info is not None else []
            self._adopt_base(name, model, parts, toolbox, signature, info,
                             files)
            self._origin = shared_backbone_origin(name, checkpoint, files)
        elif not light:
            check_same_frozen(name, source, checkpoint, digest, parts.state,
                              parts.specific, self._shared, self._tasks,
                              parts.extra, self._origin)

        task = Task(
            name=name,
            config=source,
            checkpoint=checkpoint,
            head=parts.head,
            classes=classes,
            group='',
            digest=digest,
            specific_keys=parts.extra)
        routes = task_routes(
            name,
            model,
            parts,
            task.specific_keys,
            tasks=self._tasks,
            key_paths=self._key_paths,
            originals=self._originals)

        # Adapters, by block index.
        for path, adapter in parts.adapters.items():
            self._attach_adapter(parts.indices[path], name, adapter)
            task.blocks.append(parts.indices[path])
        for path, mine in routes.items():
            route_task_module(
                self.base,
                path,
                name,
                mine.to(self.device),
                tasks=self._tasks,
                originals=self._originals,
                streams=self.streams)
            task.routed[path] = mine

        if group_key not in self._groups:
            self._groups[group_key] = PipelineGroup(
                inputs=inputs, preprocessor=model.data_preprocessor)
        self._groups[group_key].tasks.append(name)
        task.group = group_key
        self._tasks[name] = task
        self._update_split_points()

    def _adopt_base(self, name: str, model: nn.Module, parts: TaskParts,
                    toolbox: str, signature: dict, info: Optional[dict],
                    files: List[tuple]) -> None:
        if not parts.blocks:
            raise TaskError(
                f'Task {name!r}: no transformer block of a known type in '
                f'the model; declare them in model.backbone.block_types.')
        self.base = model
        self._toolbox = toolbox
        self._signature = signature
        self._block_paths = parts.blocks
        self._blocks = [model.get_submodule(p) for p in parts.blocks]
        self._module_order = [p for p, _ in model.named_modules()]
        self._key_paths = {
            k: parts.owners[id(v)]
            for k, v in parts.state.items()
        }
        self._shared = {
            k: v.detach()
            for k, v in parts.state.items() if k not in parts.specific
        }
        self._fingerprints = FrozenFingerprints(self._shared, files)
        if info:
            # init_model found the frozen tensors to give the digest of an
            # adapter-only checkpoint.
            frozen = frozenset(parts.state) - set(info['saved_keys'])
            if frozen <= set(self._shared):
                self._fingerprints.digests[frozen] = info['frozen_digest']
        delattr(model, parts.head_name)
        specs = [block_spec(type(b)) for b in self._blocks]
        self.streams.install(
            self._blocks,
            [spec.stream_inputs if spec else 1 for spec in specs],
            stem=model.backbone)

    def _attach_adapter(self, index: int, name: str,
                        adapter: nn.Module) -> None:
        attach_task_adapter(
            self.base.backbone,
            self._blocks[index],
            index,
            name,
            adapter.to(self.device),
            base_task=next(iter(self._tasks), name),
            placement=self._signature['placement'] or 'parallel',
            streams=self.streams)

    def _update_split_points(self) -> None:
        self.streams.split_at = task_split_points(self._tasks, self.base,
                                                  self._block_paths,
                                                  self._module_order)

    @serialized
    def remove_task(self, name: str) -> None:
        """Unload a task: its adapters, head and routed modules.

        Args:
            name (str): The task.

        Raises:
            KeyError: If no task of that name is loaded (the message names
                the loaded tasks).
        """
        self._check_names([name])
        task = self._tasks.pop(name)
        self._detach(name)
        group = self._groups[task.group]
        group.tasks.remove(name)
        if not group.tasks:
            del self._groups[task.group]
        if not self._tasks:
            self._reset()
            return
        self._update_split_points()

    def chosen_tasks(self, tasks: Optional[Union[str,
                                                 Sequence[str]]]) -> List[str]:
        """The loaded tasks that ``tasks`` names (see
        :func:`~mmadaptformer.apis.task_choice.chosen_tasks`)."""
        return chosen_tasks(tasks, self.tasks)

    def _check_names(self, names: Sequence[str]) -> None:
        check_names(names, self.tasks)

    def num_tensor_elements(self) -> int:
        """Elements of every distinct parameter and buffer held: the shared
        backbone, each task's adapters, heads and routed modules, the
        frozen originals of routed modules, and each pipeline group's data
        preprocessor."""
        modules = [self.base] if self.base is not None else []
        modules += list(self._originals.values())
        modules += [t.head for t in self._tasks.values()]
        modules += [g.preprocessor for g in self._groups.values()]
        seen = {}
        for module in modules:
            for tensor in tensors_of(module):
                seen[id(tensor)] = tensor.numel()
        return sum(seen.values())

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(tasks={self.tasks}, '
                f'split_at={self.streams.split_at})')

    @staticmethod
    def task_name_of(config: str) -> str:
        """The default task name of a config: its file stem."""
        return osp.splitext(osp.basename(config))[0]
