# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How each task's parts sit in the shared model of a
:class:`~mmadaptformer.apis.shared_backbone.SharedBackbone`: its adapters
and routed modules go in and come out again, and its stream splits off
from the others at the first block that differs."""
from typing import Dict, Mapping, MutableMapping, Optional, Sequence, Set

import torch
from torch import nn

from mmadaptformer.models import AdaptMLP, inject_adapters, remove_adapters
from mmadaptformer.models.multitask import (MultiTaskAdaptMLP,
                                            TaskRoutedModule, TaskStreams,
                                            split_point_of)
from mmadaptformer.utils.fingerprint import same_values
from .multitask_tasks import Task

__all__ = [
    'attach_task_adapter', 'route_task_module', 'detach_task',
    'task_split_points', 'shared_frozen_module', 'same_tensors'
]


def attach_task_adapter(backbone: nn.Module, block: nn.Module, index: int,
                        name: str, adapter: nn.Module, *, base_task: str,
                        placement: str, streams: TaskStreams) -> None:
    """Attach a task's adapter to a block of the shared model.

    Args:
        backbone (nn.Module): The shared model's backbone.
        block (nn.Module): Its block number ``index``.
        index (int): The block's index.
        name (str): The task.
        adapter (nn.Module): Its adapter of that block, on the model's
            device.
        base_task (str): The task whose model is the shared one; an
            adapter the block holds already is its own.
        placement (str): Where the shared model's adapters sit, for a
            block that holds none yet.
        streams (TaskStreams): The shared model's task streams.
    """
    current = getattr(block, 'adaptmlp', None)
    if isinstance(current, AdaptMLP):
        # The base task's own adapter: wrap it.
        current = MultiTaskAdaptMLP(streams, {base_task: current})
        block.adaptmlp = current
    elif current is None:
        # No task had an adapter here: add the hooks, then the module.
        inject_adapters(
            backbone,
            adapter=dict(bottleneck=1),
            layers=[index],
            placement=placement)
        current = MultiTaskAdaptMLP(streams)
        block.adaptmlp = current
    current.adapters[name] = adapter


def route_task_module(base: nn.Module, path: str, name: str, module: nn.Module,
                      *, tasks: Mapping[str, Task],
                      originals: MutableMapping[str, nn.Module],
                      streams: TaskStreams) -> None:
    """Run a task's own module in place of the shared model's ``path``.

    The first task routed there turns the module into a
    :class:`~mmadaptformer.models.multitask.TaskRoutedModule` that runs it
    for the tasks loaded before.

    Args:
        base (nn.Module): The shared model.
        path (str): The module's path in it.
        name (str): The task.
        module (nn.Module): The task's module, on the model's device.
        tasks (Mapping[str, Task]): The tasks loaded before; their
            ``routed`` is updated.
        originals (MutableMapping[str, nn.Module]): The frozen original of
            each routed path; updated.
        streams (TaskStreams): The shared model's task streams.
    """
    parent_path, _, attr = path.rpartition('.')
    parent = base.get_submodule(parent_path)
    current = getattr(parent, attr)
    if not isinstance(current, TaskRoutedModule):
        if tasks:
            # Frozen for every task loaded so far: they share it.
            originals[path] = current
        for task in tasks.values():
            task.routed[path] = current
        current = TaskRoutedModule(
            streams, {t: current
                      for t in tasks}, original=current)
        setattr(parent, attr, current)
    current.add(name, module)


def task_split_points(tasks: Mapping[str, Task], base: nn.Module,
                      block_paths: Sequence[str],
                      module_order: Sequence[str]) -> Dict[str, Optional[int]]:
    """The block at which each task's stream leaves the shared one: the
    first block holding its adapters or one of its own routed modules.

    Args:
        tasks (Mapping[str, Task]): The loaded tasks, by name.
        base (nn.Module): The shared model.
        block_paths (Sequence[str]): Paths of its blocks, in forward order.
        module_order (Sequence[str]): Every module path of the model, in
            module order.

    Returns:
        dict[str, int | None]: Task name -> its split point (see
        :func:`~mmadaptformer.models.multitask.split_point_of`); None for
        a task that runs the shared model throughout.
    """

    def split_point(task: Task) -> Optional[int]:
        points = list(task.blocks)
        for path, module in task.routed.items():
            # Tasks that run the replaced module stay together: the others
            # leave their stream before it runs.
            if module is base.get_submodule(path).original or all(
                    other.routed.get(path) is module
                    for other in tasks.values()):
                continue
            # find_task_parts refused the modules it has none for.
            points.append(split_point_of(path, block_paths, module_order))
        return min(points) if points else None

    return {name: split_point(task) for name, task in tasks.items()}


def detach_task(base: nn.Module, blocks: Sequence[nn.Module], name: str, *,
                tasks: Mapping[str, Task], key_paths: Mapping[str, str],
                originals: MutableMapping[str, nn.Module],
                shared: MutableMapping[str, torch.Tensor]) -> None:
    """Drop a task's adapters and routed modules from the shared model.

    A block left without any task's adapter loses its adapter hooks
    too, so it runs as the stock block again (a later task with an
    adapter there injects them anew). A routed module left with one
    frozen module for every task still there (the shared original, or
    copies of it with equal tensors) is put back as that plain module,
    with the routed module's hooks, so that the model holds no module of
    the task (nor of a removed base task, whose trained module the
    original may have been). Its tensors join the shared frozen ones,
    which every later task must match: it no longer runs its own copy
    there.

    Args:
        base (nn.Module): The shared model.
        blocks (Sequence[nn.Module]): Its blocks.
        name (str): The task.
        tasks (Mapping[str, Task]): The tasks still loaded; the paths
            put back leave their ``routed``. A module one of them trained
            is never put back: every later task would share it.
        key_paths (Mapping[str, str]): The module path of each key of the
            shared model, to find the modules the tasks trained.
        originals (MutableMapping[str, nn.Module]): The frozen original of
            each routed path; kept while the path is routed, for later
            tasks to share, and dropped with the paths put back.
        shared (MutableMapping[str, Tensor]): The shared model's frozen
            tensors by key; the tensors of the modules put back are set.
    """
    for module in base.modules():
        if isinstance(module, MultiTaskAdaptMLP) and \
                name in module.adapters:
            del module.adapters[name]
    trained_ids = {
        id(task.routed[key_paths[key]])
        for task in tasks.values() for key in task.specific_keys
        if key_paths.get(key) in task.routed
    }
    for path, module in list(base.named_modules()):
        if not isinstance(module, TaskRoutedModule) or \
                name not in module.per_task:
            continue
        original = module.original
        module.remove(name, keep_original=originals.get(path) is original)
        plain = shared_frozen_module(module, trained_ids)
        if plain is None and not module.per_task:
            plain = original
        if plain is not None:
            parent_path, _, attr = path.rpartition('.')
            setattr(
                base.get_submodule(parent_path), attr, module.unrouted(plain))
            for task in tasks.values():
                task.routed.pop(path, None)
            originals.pop(path, None)
            for key in [k for k, p in key_paths.items() if p == path]:
                # A module's keys end in the names of its own tensors.
                shared[key] = getattr(plain, key.rpartition('.')[2]).detach()
    for block in blocks:
        current = getattr(block, 'adaptmlp', None)
        if isinstance(current, MultiTaskAdaptMLP) and \
                not current.adapters:
            remove_adapters(block)


def shared_frozen_module(routed: TaskRoutedModule,
                         trained_ids: Set[int]) -> Optional[nn.Module]:
    """The one module that can serve every task of ``routed``, or None.

    That is the module they all run, or, where they run frozen copies of
    one module (each task after a base task that trained it gets its own),
    the first, if the others are of its type with equal tensors. None if a
    task runs a module it trained (id in ``trained_ids``), or if no task
    is left.
    """
    modules = list({id(m): m for _, m in routed.per_task.items()}.values())
    if not modules or any(id(m) in trained_ids for m in modules):
        return None
    first = modules[0]
    for other in modules[1:]:
        if not same_tensors(first, other):
            return None
    return first


def same_tensors(a: nn.Module, b: nn.Module) -> bool:
    """Whether two modules are of one type and setting, with equal
    parameters and buffers (a NaN equal to a NaN at the same place)."""
    if type(a) is not type(b) or a.extra_repr() != b.extra_repr():
        return False
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(
        same_values(sa[k], sb[k]) for k in sa)
