# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which module a new task runs at each routed path of the shared model of
a :class:`~mmadaptformer.apis.shared_backbone.SharedBackbone`: its own
trained module, its frozen copy where another task trained one, or the
shared frozen original."""
from typing import Dict, Iterable, Mapping

from torch import nn

from .multitask_tasks import Task, TaskError, tensors_of
from .task_parts import TaskParts

__all__ = ['task_routes', 'module_for']


def module_for(model: nn.Module, parts: TaskParts,
               key_paths: Mapping[str, str], path: str) -> nn.Module:
    """The module of a task's ``model`` that holds the shared model's
    module ``path``.

    Args:
        model (nn.Module): The task's model.
        parts (TaskParts): Where its parts are.
        key_paths (Mapping[str, str]): The module path of each key of the
            shared model.
        path (str): The module's path in the shared model.

    Raises:
        TaskError: If the task's keys of that module are not in one
            module.
    """
    keys = [k for k, p in key_paths.items() if p == path]
    paths = {
        parts.owners[id(parts.state[k])]
        for k in keys if k in parts.state
    }
    if len(paths) != 1:
        raise TaskError(f'Cannot find the module {path!r} in the task.')
    return model.get_submodule(paths.pop())


def task_routes(name: str, model: nn.Module, parts: TaskParts,
                trained: Iterable[str], *, tasks: Mapping[str, Task],
                key_paths: Mapping[str, str],
                originals: Mapping[str, nn.Module]) -> Dict[str, nn.Module]:
    """The module a new task runs at every path to route for it.

    That is every path the tasks loaded before route, and every path of a
    module it trained (other than adapters and head). Each task holds a
    module at every routed path (:func:`~mmadaptformer.apis.task_wiring.
    route_task_module` gives one to the tasks before), which stays routed
    after the task that trained it is removed.

    Args:
        name (str): The new task.
        model (nn.Module): Its model.
        parts (TaskParts): Where its parts are.
        trained (Iterable[str]): Its trained keys other than adapters and
            head.
        tasks (Mapping[str, Task]): The tasks loaded before.
        key_paths (Mapping[str, str]): The module path of each key of the
            shared model.
        originals (Mapping[str, nn.Module]): The frozen original of each
            routed path.

    Returns:
        dict[str, nn.Module]: Path -> the module the task runs there, in
        path order.

    Raises:
        TaskError: If a module is not in the task, or was not loaded, or
            one path to route is inside another (see
            :func:`_check_not_nested`).
    """
    trained = list(trained)
    paths = {key_paths[key] for key in trained if key in key_paths}
    routed = {p for t in tasks.values() for p in t.routed}
    _check_not_nested(name, paths, routed, trained, key_paths)
    routes = {}
    for path in sorted(routed | paths):
        routes[path] = module_for(model, parts, key_paths, path)
        if path not in paths and path in originals:
            # Not trained by this task: the frozen original serves.
            routes[path] = originals[path]
        if any(t.is_meta for t in tensors_of(routes[path])):
            # load_task_parts leaves such a task to the full load.
            raise TaskError(f'Task {name!r}: its module {path} was '
                            'not loaded.')
    return routes


def _check_not_nested(name: str, paths: Iterable[str], routed: Iterable[str],
                      trained: Iterable[str], key_paths: Mapping[str,
                                                                 str]) -> None:
    """Refuse a task whose routed paths nest: a module that holds trained
    tensors of its own (VideoMAE attention's ``q_bias``) and a module
    inside it (its ``proj``). Each path is replaced by a
    :class:`~mmadaptformer.models.multitask.TaskRoutedModule`; the inner
    one could no longer be found inside the outer one (before:
    ``AttributeError: 'TaskRoutedModule' object has no attribute
    'proj'``)."""
    paths, routed = set(paths), set(routed)
    every = sorted(paths | routed)
    for outer in every:
        inner = [p for p in every if p.startswith(outer + '.')]
        if not inner:
            continue
        own = sorted(k for k in trained if key_paths.get(k) == outer)
        whose = (f'it trained tensors of {outer} itself ({own[:3]})'
                 if outer in paths else
                 f'the loaded tasks route {outer} (they trained tensors of '
                 'its own)')
        raise TaskError(
            f'Task {name!r} cannot be served with one backbone: {whose} '
            f'and of {inner[0]} inside it; each task gets its own copy of '
            'a module it trained, and one routed module cannot hold '
            'another. Serve it alone (ModelInferencer, or tools/infer.py '
            f'without --task), or train it without the tensors {outer} '
            'holds itself (extra_trainable of the AdapterHook).')
