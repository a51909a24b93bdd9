# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Where a task's own backbone module makes it split from the other tasks.

The streams of :class:`~mmadaptformer.models.multitask.TaskStreams` are
laid out in a forward pre-hook of each block and a forward hook of the last
one, so a task can leave the shared stream only there. A module the task
trained (see ``docs/multitask.md``) therefore needs its own stream from:

* the block that contains it;
* the last block that runs before it, when it runs between two blocks (the
  task runs that one block in its own stream too);
* ``len(blocks)``, the hook after the last block, when it runs after them
  (``fc_norm``, a final norm);
* :data:`STEM`, a pre-hook on the backbone, when it comes before the first
  block (a patch embedding): the task then runs every block in its own
  stream.

Modules outside the blocks are placed by module order (``named_modules``):
after a block if registered after it, else at :data:`STEM`. A module
registered late but run early would meet tasks that still share a stream,
and :class:`~mmadaptformer.models.multitask.TaskRoutedModule` raises; one
registered early but run late (TimeSformer's final ``norm``) only splits
earlier than it must. No split point serves a module that holds a block
(the host itself, for its ``cls_token`` or ``pos_embed``; a block, for a
tensor the block holds itself): each task would need its own copy of it.
"""
from typing import Optional, Sequence

__all__ = ['STEM', 'holds_block', 'split_point_of']

#: The split point at the backbone's input, before the first block.
STEM = -1


def _inside(path: str, parent: str) -> bool:
    return not parent or path == parent or path.startswith(parent + '.')


def holds_block(path: str, blocks: Sequence[str]) -> bool:
    """Whether the module ``path`` is a block or holds one.

    Args:
        path (str): A module path (``''`` for the model itself).
        blocks (Sequence[str]): Paths of the blocks, in forward order.
    """
    return any(_inside(block, path) for block in blocks)


def split_point_of(path: str, blocks: Sequence[str],
                   order: Sequence[str]) -> Optional[int]:
    """The split point of a task that has its own module ``path``.

    Args:
        path (str): The module, as a path in the model.
        blocks (Sequence[str]): Paths of the blocks, in forward order.
        order (Sequence[str]): Every module path of the model, in module
            order (``[p for p, _ in model.named_modules()]``).

    Returns:
        int, optional: The index of the block containing ``path``, else of
        the last block before it in module order, ``len(blocks)`` if that is
        the last block, :data:`STEM` if there is none; None if no split
        point serves it (it holds a block).
    """
    if holds_block(path, blocks):
        return None
    for index, block in enumerate(blocks):
        if _inside(path, block):
            return index
    position = {p: i for i, p in enumerate(order)}
    if path not in position:
        raise KeyError(f'{path!r} is not a module of the model.')
    before = [
        index for index, block in enumerate(blocks)
        if position[block] < position[path]
    ]
    if not before:
        return STEM
    return len(blocks) if before[-1] == len(blocks) - 1 else before[-1]
