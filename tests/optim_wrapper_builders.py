# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The optimizer wrapper class a config's Runner gets, for the AMP tests;
a wrapper that keeps no accumulation count, for the batch-record tests."""
from contextlib import nullcontext
from typing import Optional, Type

from mmengine.config import Config
from mmengine.optim import BaseOptimWrapper
from mmengine.registry import OPTIM_WRAPPERS, init_default_scope


def registry_optim_wrapper(cfg: Config) -> Optional[Type]:
    """The class MMEngine's registry gives the Runner for
    ``cfg.optim_wrapper.type`` in the config's default scope, or None
    where no registry holds it (the Runner's build raises a KeyError)."""
    init_default_scope(cfg.default_scope)
    return OPTIM_WRAPPERS.get(cfg.optim_wrapper.type)


class UncountedOptimWrapper(BaseOptimWrapper):
    """A real optimizer wrapper that keeps no ``_accumulative_counts``: a
    BaseOptimWrapper that is no OptimWrapper, as DeepSpeed's is."""

    def update_params(self, loss, **kwargs):
        self.backward(loss)
        self.step()
        self.zero_grad()

    def backward(self, loss, **kwargs):
        loss.backward()

    def zero_grad(self, **kwargs):
        self.optimizer.zero_grad()

    def step(self, **kwargs):
        self.optimizer.step()

    def optim_context(self, model):
        return nullcontext()
