# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which trained modules besides adapters and heads a multi-task forward
can serve per task."""
from typing import Dict, List

from torch import nn

from mmadaptformer.models.multitask import holds_block
from .multitask_tasks import TaskError

__all__ = ['check_trained_owners']


def check_trained_owners(name: str, source: str, model: nn.Module,
                         blocks: List[str], owners: Dict[str, str]) -> None:
    """Refuse trained tensors held by a module that holds blocks: the
    backbone itself (``cls_token``, ``pos_embed``) or a block (a tensor of
    its own). Its task would need its own copy of that module, blocks
    included. Any other trained module is served from its
    :func:`~mmadaptformer.models.multitask.split_point_of`.

    Args:
        name (str): The task.
        source (str): Its config file.
        model (nn.Module): Its model.
        blocks (list[str]): Paths of the model's blocks.
        owners (dict[str, str]): Each trained key besides adapters and head
            -> the path of the module holding it.

    Raises:
        TaskError: Naming the task, the keys, their module and why.
    """
    held = {}
    for key, path in sorted(owners.items()):
        if holds_block(path, blocks):
            held.setdefault(path, []).append(key)
    if held:
        what = '; '.join(
            f'{", ".join(keys)} of {type(model.get_submodule(path)).__name__}'
            f' ({path or "the model"})' for path, keys in held.items())
        raise TaskError(
            f'Task {name!r} ({source}): it trained {what}, a tensor of a '
            'module that holds transformer blocks: served next to other '
            'tasks, it would need its own copy of that whole module, blocks '
            'included. The multi-task forward serves trained modules '
            'inside, between, before (patch_embed) or after the blocks '
            '(fc_norm), not tensors such as cls_token or pos_embed. Serve '
            'it alone (ModelInferencer, tools/infer.py without --task), or '
            'train it without those keys in extra_trainable.')
