# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which module a new task runs at each routed path of the shared model of
a :class:`~mmadaptformer.apis.shared_backbone.SharedBackbone`: its own
trained module, its frozen copy where another task trained one, or the
shared frozen original."""
from typing import Dict, Iterable, List, Mapping

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
            one path to route is inside another: a module whose own
            tensors this task or a loaded one trained holds a module that
            this task or a loaded one trained (``'OUTER (its own tensors
            trained by task ...) holds INNER (trained by task ...)'``,
            with what to do; see :func:`_check_not_nested`).
    """
    trained = list(trained)
    paths = {key_paths[key] for key in trained if key in key_paths}
    routed = {p for t in tasks.values() for p in t.routed}
    _check_not_nested(name, paths, routed, trained, tasks, key_paths)
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


def _trained_by(path: str, name: str, trained: Iterable[str],
                tasks: Mapping[str, Task],
                key_paths: Mapping[str, str]) -> Dict[str, List[str]]:
    """The tasks that trained tensors of the module ``path`` itself (the
    new task ``name`` first), each with those tensors' keys."""
    owners = {}
    for task, keys in [(name, trained)] + [(t.name, t.specific_keys)
                                           for t in tasks.values()]:
        own = sorted(k for k in keys if key_paths.get(k) == path)
        if own:
            owners.setdefault(task, own)
    return owners


def _named(owners: Mapping[str, List[str]]) -> str:
    """``task 'a' (['key', ...]), task 'b' (...)``, for a refusal
    (``a loaded task`` where none is known)."""
    return ', '.join(f'task {task!r} ({keys[:3]})'
                     for task, keys in owners.items()) or 'a loaded task'


def _check_not_nested(name: str, paths: Iterable[str], routed: Iterable[str],
                      trained: Iterable[str], tasks: Mapping[str, Task],
                      key_paths: Mapping[str, str]) -> None:
    """Refuse a task whose routed paths nest: a module that holds trained
    tensors of its own (VideoMAE attention's ``q_bias``) and a module
    inside it (its ``proj``), trained by this task or by a loaded one.
    Each path is replaced by a
    :class:`~mmadaptformer.models.multitask.TaskRoutedModule`; the inner
    one could no longer be found inside the outer one (before:
    ``AttributeError: 'TaskRoutedModule' object has no attribute
    'proj'``). The refusal names the two modules, the task that trained
    each, and the way out that fits: this task trained the outer one's own
    tensors (train it without them), or a loaded task did (serve this one
    without that task)."""
    trained = list(trained)
    every = sorted(set(paths) | set(routed))
    for outer in every:
        inner = [p for p in every if p.startswith(outer + '.')]
        if not inner:
            continue
        holders = _trained_by(outer, name, trained, tasks, key_paths)
        inside = _trained_by(inner[0], name, trained, tasks, key_paths)
        others = [t for t in {**holders, **inside} if t != name]
        without = ''
        if others:
            without = (' or on an engine without ' +
                       ', '.join(f'task {t!r}'
                                 for t in others) + ' (remove_task)')
        advice = (f'Serve task {name!r} alone (ModelInferencer, or '
                  f'tools/infer.py without --task){without}')
        if name in holders:
            advice += (f', or train it without the tensors {outer} holds '
                       'itself (extra_trainable of the AdapterHook)')
        raise TaskError(
            f'Task {name!r} cannot be served with one backbone: {outer} '
            f'(its own tensors trained by {_named(holders)}) holds '
            f'{inner[0]} (trained by {_named(inside)}); each task gets its '
            'own copy of a module it trained, and one routed module cannot '
            f'hold another. {advice}.')
