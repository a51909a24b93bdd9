# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How the inferencers run a forward of a model they share with the caller:
one call at a time, in eval mode, without gradients."""
import contextlib
import functools
from typing import Callable, Dict, Iterator, Optional

import torch
from torch import nn

from mmadaptformer.utils.default_scope_lock import SCOPE_LOCK

__all__ = ['SCOPE_LOCK', 'serialized', 'eval_mode']


def serialized(method: Callable) -> Callable:
    """Run a method of an object that has a ``lock`` under that lock.

    A multi-task model holds the state of the forward in progress on
    itself: :class:`~mmadaptformer.models.multitask.TaskStreams` the layout
    of the batch. Two threads in one forward would break each other's (a
    shape error, or another input's adapter output); a second call waits
    for the first instead. (Each adapted block's
    :class:`~mmadaptformer.models.adapters.router.AdapterRouter` keeps its
    norm's input per thread, and a shallow VPT the prompts it carries
    between blocks, so those models alone need no lock.) It takes
    :data:`~mmadaptformer.utils.default_scope_lock.SCOPE_LOCK` first, so
    calls of two inferencers (a video one and an image one) run one at a
    time too; first, so that a call that holds it and reaches another
    inferencer (a user's transform that calls one) gets that one's lock,
    rather than waiting for ever on a thread that took it and waits here.
    """

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with SCOPE_LOCK, self.lock:
            return method(self, *args, **kwargs)

    return locked


@contextlib.contextmanager
def eval_mode(*modules: Optional[nn.Module]) -> Iterator[None]:
    """Run ``modules`` in eval mode without gradients, then give back every
    submodule's own ``training`` flag and the grad mode.

    A model the caller put in training mode (to fine-tune it further in the
    same notebook, say) would otherwise answer with its batch statistics
    and dropout, and update the running statistics of its norms: other
    scores, and a changed model. Each flag is set back as it was, without
    calling ``train()`` (which some backbones override to freeze stages).

    Args:
        *modules (nn.Module, optional): The modules; None is skipped.
    """
    flags: Dict[int, tuple] = {}
    for module in modules:
        if module is None:
            continue
        for sub in module.modules():
            flags.setdefault(id(sub), (sub, sub.training))
    try:
        for module in modules:
            if module is not None:
                # Not chained: mmpretrain's VisionTransformer.train()
                # returns None.
                module.eval()
        with torch.no_grad():
            yield
    finally:
        for sub, training in flags.values():
            sub.training = training
