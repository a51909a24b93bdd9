# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Modules by task name, for any name a task may have."""
from typing import Iterator, List, Tuple

from torch import nn

__all__ = ['TaskModules']


class TaskModules(nn.ModuleDict):
    """Modules by task name.

    A task may be named anything
    :func:`~mmadaptformer.apis.multitask_tasks.check_task_name` accepts,
    ``'train'``, ``'float'``, ``'bfloat16'``, ``'keys'`` or ``'hmdb51.v2'``
    too, which :class:`torch.nn.ModuleDict` refuses as keys (the names of
    its attributes, dots). Each module is stored as the submodule
    ``'task:' + name`` with every ``.`` written as ``:`` (not a character
    of task names, so no two names meet); indexing, ``in``, ``del``,
    iteration, ``keys()``, ``items()`` and ``pop()`` take and give task
    names.
    """

    _PREFIX = 'task:'

    @classmethod
    def _key(cls, name: str) -> str:
        return cls._PREFIX + name.replace('.', ':')

    @classmethod
    def _name(cls, key: str) -> str:
        return key[len(cls._PREFIX):].replace(':', '.')

    def __getitem__(self, name: str) -> nn.Module:
        try:
            return super().__getitem__(self._key(name))
        except KeyError:
            raise KeyError(name) from None

    def __setitem__(self, name: str, module: nn.Module) -> None:
        super().__setitem__(self._key(name), module)

    def __delitem__(self, name: str) -> None:
        try:
            super().__delitem__(self._key(name))
        except KeyError:
            raise KeyError(name) from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(self._key(name))

    def __iter__(self) -> Iterator[str]:
        return (self._name(key) for key in super().__iter__())

    def keys(self) -> List[str]:
        return list(self)

    def items(self) -> List[Tuple[str, nn.Module]]:
        return [(self._name(key), module) for key, module in super().items()]

    def pop(self, name: str) -> nn.Module:
        module = self[name]
        del self[name]
        return module
