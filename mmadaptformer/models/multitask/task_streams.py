# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run the samples of several AdaptFormer tasks through one backbone.

AdaptFormer (arXiv 2205.13535) leaves the pre-trained backbone frozen, so
tasks differ only in their adapters, their head and the few backbone modules
a recipe also trains (e.g. ``fc_norm``). One backbone can therefore answer
many tasks in one forward:

* The batch is a list of **streams** of equal size ``n`` laid out one after
  the other, ``[stream 0 | stream 1 | ...]``. A stream holds the hidden
  states of one or more tasks; tasks share a stream while their computation
  is identical, i.e. before their first task-specific module.
* Each task has a **split point**: the index of the first block in which it
  has an adapter or another task-specific module, ``len(blocks)`` for a
  module after the last block, or :data:`STEM` for one before the first
  (see :mod:`~mmadaptformer.models.multitask.split_points`). Before a
  block that is a split point (or the backbone, for :data:`STEM`), a
  forward pre-hook gives each task that splits there a stream of its own,
  copied from its shared stream with one ``index_select`` (no loop over
  samples). Blocks in front of every split point run once per input.
* :class:`MultiTaskAdaptMLP` replaces a block's ``adaptmlp`` and applies each
  task's :class:`~mmadaptformer.models.AdaptMLP` to that task's stream (zero
  for the others); :class:`TaskRoutedModule` does the same for any other
  task-specific module. The block's adapter hooks are unchanged.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from .split_points import STEM
from .task_modules import TaskModules

__all__ = [
    'TaskStreams', 'TaskModules', 'MultiTaskAdaptMLP', 'TaskRoutedModule'
]


class TaskStreams:
    """The layout of a multi-task batch and the hooks that fan it out.

    Attributes:
        split_at (dict[str, int]): Split point of each task (a block index,
            ``len(blocks)`` or :data:`STEM`); a task without one shares its
            stream to the end (only its head differs).
        streams (list[tuple[str]], optional): The tasks of each stream
            during a forward, None outside one.
        n (int, optional): The size of a stream during a forward.
    """

    def __init__(self) -> None:
        self.split_at: Dict[str, int] = {}
        self.streams: Optional[List[Tuple[str, ...]]] = None
        self.n: Optional[int] = None
        self._handles = []

    def install(self,
                blocks: Sequence[nn.Module],
                inputs: Optional[Sequence[int]] = None,
                stem: Optional[nn.Module] = None) -> None:
        """Hook the blocks: a pre-hook on each, a hook after the last.

        Args:
            blocks (Sequence[nn.Module]): The blocks, in forward order.
            inputs (Sequence[int], optional): Per block, how many leading
                positional inputs (and, of the last block, tensors of its
                output) hold the samples along dim 0; each gets the same
                rows. Defaults to 1 for every block.
            stem (nn.Module, optional): The backbone, whose first input
                holds the samples along dim 0: a pre-hook on it lays out
                the tasks that split at :data:`STEM`. Defaults to None.
        """
        self.remove()
        inputs = list(inputs) if inputs is not None else [1] * len(blocks)
        if stem is not None:
            self._handles.append(
                stem.register_forward_pre_hook(self._pre_hook(STEM, 1)))
        for index, block in enumerate(blocks):
            self._handles.append(
                block.register_forward_pre_hook(
                    self._pre_hook(index, inputs[index])))
        if blocks:
            self._handles.append(blocks[-1].register_forward_hook(
                self._post_hook(len(blocks), inputs[-1])))

    def remove(self) -> None:
        """Remove the hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def begin(self, tasks: Sequence[str]) -> None:
        """Start a forward in which every task answers every sample."""
        unknown = [t for t in tasks if t not in self.split_at]
        if unknown:
            raise KeyError(f'Tasks {unknown} are not set up for streaming; '
                           f'known tasks: {sorted(self.split_at)}.')
        self.streams = [tuple(tasks)]
        self.n = None

    def end(self) -> None:
        """Forget the layout of the finished forward."""
        self.streams = None
        self.n = None

    def stream_of(self, task: str) -> int:
        """Index of the stream that holds ``task``."""
        for index, tasks in enumerate(self.streams):
            if task in tasks:
                return index
        raise KeyError(f'Task {task!r} is in no stream of this forward.')

    def slice_of(self, task: str, batch: int) -> slice:
        """The rows of ``task`` in a batch of ``batch`` rows laid out as the
        current streams."""
        if batch % len(self.streams):
            raise RuntimeError(
                f'A batch of {batch} rows cannot hold {len(self.streams)} '
                'equal streams; a module changed the batch size inside the '
                'multi-task forward.')
        n = batch // len(self.streams)
        index = self.stream_of(task)
        return slice(index * n, (index + 1) * n)

    def check(self, x: torch.Tensor, owner: str) -> int:
        """The stream size, after checking ``x`` holds every stream."""
        if self.streams is None:
            raise RuntimeError(
                f'{owner} runs outside a multi-task forward; call it '
                'through mmadaptformer.apis.MultiTaskRecognizer.')
        if self.n is None:
            self.n = x.shape[0] // len(self.streams)
        if x.shape[0] != self.n * len(self.streams):
            raise RuntimeError(
                f'{owner} got a batch of {x.shape[0]} rows, but the '
                f'multi-task layout has {len(self.streams)} streams of '
                f'{self.n}.')
        return self.n

    def fan_out(self, x: torch.Tensor, point: int) -> Optional[torch.Tensor]:
        """Give each task that splits at ``point`` its own stream."""
        index = self._rows_at(x, point)
        return None if index is None else x.index_select(0, index)

    def fan_out_all(self, xs: Sequence[torch.Tensor],
                    point: int) -> Optional[List[torch.Tensor]]:
        """:meth:`fan_out` of several tensors that hold the same samples
        (a reversible block's ``x1, x2``), with the same rows."""
        for x in xs[1:]:
            if not isinstance(x, torch.Tensor) or \
                    x.shape[0] != xs[0].shape[0]:
                raise RuntimeError(
                    f'Block {point}: its inputs hold the samples along dim '
                    f'0, but one has {getattr(x, "shape", type(x))} for '
                    f'{xs[0].shape[0]} rows.')
        index = self._rows_at(xs[0], point)
        if index is None:
            return None
        return [x.index_select(0, index) for x in xs]

    def _rows_at(self, x: torch.Tensor, point: int) -> Optional[torch.Tensor]:
        """The rows of ``x`` that give each task splitting at ``point`` its
        own stream (the new layout is kept), or None if none splits."""
        if self.streams is None:
            return None
        n = self.check(x, f'block {point}')
        new, parents = [], []
        for parent, tasks in enumerate(self.streams):
            leaving = [t for t in tasks if self.split_at.get(t) == point]
            if len(tasks) == 1 or not leaving:
                groups = [tasks]
            else:
                staying = tuple(t for t in tasks if t not in leaving)
                groups = ([staying] if staying else []) + [(t, )
                                                           for t in leaving]
            for group in groups:
                new.append(group)
                parents.append(parent)
        if len(new) == len(self.streams):
            return None
        rows = torch.arange(n, device=x.device)
        index = (torch.tensor(parents, device=x.device)[:, None] * n +
                 rows[None]).flatten()
        self.streams = new
        return index

    def _pre_hook(self, point: int, inputs: int):

        def hook(module: nn.Module, args: tuple):
            if self.streams is None or len(args) < inputs:
                return None
            out = self.fan_out_all(args[:inputs], point)
            return None if out is None else tuple(out) + tuple(args[inputs:])

        return hook

    def _post_hook(self, point: int, inputs: int):

        def hook(module: nn.Module, args: tuple, output):
            if self.streams is None:
                return None
            if inputs == 1:
                if not isinstance(output, torch.Tensor):
                    return None
                return self.fan_out(output, point)
            if not isinstance(output, (tuple, list)) or \
                    len(output) < inputs:
                return None
            out = self.fan_out_all(output[:inputs], point)
            return None if out is None else type(output)(
                list(out) + list(output[inputs:]))

        return hook


class MultiTaskAdaptMLP(nn.Module):
    """The AdaptMLPs of several tasks in one block, applied per stream.

    It takes the place of a block's ``adaptmlp``: the block's adapter hooks
    call it like a single :class:`~mmadaptformer.models.AdaptMLP`, with the
    whole multi-task batch. Each task's adapter sees only its own stream;
    streams of tasks without an adapter in this block get zero.

    Args:
        streams (TaskStreams): The shared layout.
        adapters (dict[str, nn.Module], optional): Adapters by task.
    """

    def __init__(self,
                 streams: TaskStreams,
                 adapters: Optional[Dict[str, nn.Module]] = None) -> None:
        super().__init__()
        self.streams = streams
        self.adapters = TaskModules(adapters or {})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layout = self.streams
        n = layout.check(x, type(self).__name__)
        parts = []
        for index, tasks in enumerate(layout.streams):
            rows = x[index * n:(index + 1) * n]
            mine = [t for t in tasks if t in self.adapters]
            if not mine:
                parts.append(torch.zeros_like(rows))
            elif len(tasks) == 1:
                parts.append(self.adapters[tasks[0]](rows))
            else:
                raise RuntimeError(
                    f'Tasks {list(tasks)} share a stream, but {mine} have an '
                    'adapter in this block; their split point is wrong.')
        return parts[0] if len(parts) == 1 else torch.cat(parts)


class TaskRoutedModule(nn.Module):
    """A backbone module that some tasks trained, applied per stream.

    Tasks may share one module object (e.g. the frozen pre-trained one); it
    is stored once. The module must act on each sample on its own (a norm,
    a linear layer), with the batch first in its input and output.

    It takes over the forward hooks of the module it replaces in the shared
    model (``original``), such as those that feed a block's adapter from
    the norm before the feed-forward network: both hold the same hook
    dicts, so those hooks and any added to this module later run on the
    whole multi-task batch, as they run on one task's batch alone, and
    their handles keep working when :meth:`unrouted` puts a plain module
    back. Each task's module runs without hooks: those it has belong to
    the model it came from, and are dropped when it is added.

    Args:
        streams (TaskStreams): The shared layout.
        modules (dict[str, nn.Module], optional): Module by task.
        original (nn.Module, optional): The module it replaces, whose hooks
            it takes over. Defaults to None.
    """

    def __init__(self,
                 streams: TaskStreams,
                 modules: Optional[Dict[str, nn.Module]] = None,
                 original: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.streams = streams
        self.per_task = TaskModules()
        # Not a submodule: its tensors are those of the tasks that share it
        # in per_task; it is let go when none does (see remove).
        self.__dict__['original'] = original
        if original is not None:
            _share_hooks(original, self)
        for name, module in (modules or {}).items():
            self.add(name, module)

    def add(self, name: str, module: nn.Module) -> None:
        """Give task ``name`` its module, without the hooks of the model it
        came from (this module's hooks run instead)."""
        if module is not self.original:
            for hooks in _hook_dicts(module):
                hooks.clear()
        self.per_task[name] = module

    def remove(self, name: str, keep_original: bool = False) -> None:
        """Take task ``name``'s module out.

        Args:
            name (str): The task.
            keep_original (bool): Keep the original when no task runs it
                any more (a frozen one, which later tasks will share).
                Else it is let go then, so that no tensor of a removed
                task (the trained module of the task whose model is the
                shared one) stays held; its hooks stay here. Defaults to
                False.
        """
        del self.per_task[name]
        if not keep_original and all(m is not self.original
                                     for _, m in self.per_task.items()):
            self.__dict__['original'] = None

    def unrouted(self, module: nn.Module) -> nn.Module:
        """Hand this module's hooks to ``module``, which every task left
        runs, and return it to take this module's place in the model."""
        _share_hooks(self, module)
        return module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layout = self.streams
        n = layout.check(x, type(self).__name__)
        parts = []
        for index, tasks in enumerate(layout.streams):
            modules = {id(self.per_task[t]): self.per_task[t] for t in tasks}
            if len(modules) != 1:
                raise RuntimeError(
                    f'Tasks {list(tasks)} share a stream, but use different '
                    'modules here; their split point is wrong.')
            module = next(iter(modules.values()))
            parts.append(module.forward(x[index * n:(index + 1) * n]))
        return parts[0] if len(parts) == 1 else torch.cat(parts)


_HOOK_ATTRS = ('_forward_pre_hooks', '_forward_hooks',
               '_forward_pre_hooks_with_kwargs', '_forward_hooks_with_kwargs',
               '_forward_hooks_always_called')


def _hook_dicts(module: nn.Module) -> List[dict]:
    """The dicts that hold a module's forward hooks."""
    return [
        getattr(module, attr) for attr in _HOOK_ATTRS if hasattr(module, attr)
    ]


def _share_hooks(source: nn.Module, target: nn.Module) -> None:
    """Make ``target`` hold ``source``'s forward hook dicts themselves (its
    own are dropped): the hooks' handles refer to those dicts, so they
    still remove the hooks from whichever module runs them."""
    for attr in _HOOK_ATTRS:
        if hasattr(source, attr):
            target.__dict__[attr] = getattr(source, attr)
