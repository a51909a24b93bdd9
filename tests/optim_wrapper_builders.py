# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The optimizer wrapper class a config's Runner gets, for the AMP tests."""
from typing import Optional, Type

from mmengine.config import Config
from mmengine.registry import OPTIM_WRAPPERS, init_default_scope


def registry_optim_wrapper(cfg: Config) -> Optional[Type]:
    """The class MMEngine's registry gives the Runner for
    ``cfg.optim_wrapper.type`` in the config's default scope, or None
    where no registry holds it (the Runner's build raises a KeyError)."""
    init_default_scope(cfg.default_scope)
    return OPTIM_WRAPPERS.get(cfg.optim_wrapper.type)
