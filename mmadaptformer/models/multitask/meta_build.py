# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Build a model without its weights: parameters on the ``meta`` device."""
import threading
from contextlib import contextmanager
from typing import Iterator

from torch import nn

__all__ = ['parameters_on_meta']

# One build with meta parameters at a time: it swaps a method of nn.Module.
_META_BUILD = threading.Lock()


@contextmanager
def parameters_on_meta() -> Iterator[None]:
    """Put the parameters of modules built in this thread on the ``meta``
    device as they are registered; buffers stay real.

    A model built inside holds no weights: its parameters take no memory and
    their random init computes nothing, while buffers that the constructor
    computes (a data preprocessor's mean and std, position tables) are
    there. Code that reads a parameter's values while building fails (and
    the caller builds the model normally instead). Other threads build as
    usual meanwhile.
    """
    thread = threading.get_ident()
    with _META_BUILD:
        original = nn.Module.register_parameter

        def register_parameter(module, name, param):
            original(module, name, param)
            param = module._parameters.get(name)
            if threading.get_ident() == thread and \
                    type(param) is nn.Parameter and not param.is_meta:
                module._parameters[name] = nn.Parameter(
                    param.detach().to('meta'),
                    requires_grad=param.requires_grad)

        nn.Module.register_parameter = register_parameter
        try:
            yield
        finally:
            nn.Module.register_parameter = original
