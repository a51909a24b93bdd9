# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Replace a module's ``forward`` with a function of the module.

The replacement is an instance attribute, the way MMEngine turns on
activation checkpointing, so parameters, buffers, state-dict keys and the
module's class stay the host's. It is a :func:`functools.partial` rather
than a bound method: ``copy.deepcopy`` (EMA) and pickling
(``torch.save(model)``) rebind it to the copy.

Multi-GPU :class:`torch.nn.DataParallel` runs replicas: shallow copies of
each module (``Module._replicate_for_data_parallel``) whose ``__dict__`` is
a copy of the original's, so a replica would run the original's forward
with the original's tensors (on another GPU, a device mismatch). The module
also gets an instance ``_replicate_for_data_parallel``, which
``torch.nn.parallel.replicate`` calls on each original module, and which
binds the replica's forward to the replica. Nothing runs per forward.
"""
from functools import partial
from typing import Callable

from torch import nn

__all__ = ['bind_forward']


def bind_forward(module: nn.Module, forward: Callable) -> None:
    """Make ``forward(module, *args, **kwargs)`` the forward of ``module``,
    and of each ``DataParallel`` replica of it, bound to the replica.

    Args:
        module (nn.Module): The module; changed in place.
        forward (Callable): A module-level function (for pickling) that
            takes the module first, then the module's inputs.
    """
    module.__dict__['forward'] = partial(forward, module)
    module.__dict__['_replicate_for_data_parallel'] = partial(
        _replicate, module, forward)


def _replicate(module: nn.Module, forward: Callable) -> nn.Module:
    replica = type(module)._replicate_for_data_parallel(module)
    current = module.__dict__.get('forward')
    if isinstance(current, partial) and current.func is forward \
            and len(current.args) == 1 and current.args[0] is module:
        bind_forward(replica, forward)
    else:
        # Taken off since (e.g. checkpointing switched off for a
        # measurement): the replica keeps what the module has.
        replica.__dict__['_replicate_for_data_parallel'] = partial(
            _replicate, replica, forward)
    return replica
