# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A constructor of several optimizer wrappers, as a config of several
optimizers names it (``optim_wrapper = dict(backbone=dict(optimizer=...),
head=dict(optimizer=...), constructor=...)``), like mmagic's
``MultiOptimWrapperConstructor``; MMEngine ships none."""
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

#: What a config's ``custom_imports`` module writes to register
#: :class:`SeveralOptimWrapperConstructor` (with ``tests/`` on the path).
REGISTERING_MODULE = (
    'from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS\n'
    'from several_optim_wrappers import SeveralOptimWrapperConstructor\n'
    'OPTIM_WRAPPER_CONSTRUCTORS.register_module(\n'
    '    module=SeveralOptimWrapperConstructor)\n')


class SeveralOptimWrapperConstructor:
    """One wrapper per key of ``optim_wrapper_cfg``, for the model's
    submodule of that name, in an ``OptimWrapperDict``.

    Args:
        optim_wrapper_cfg (dict): ``{submodule: wrapper config}``.
        paramwise_cfg (dict, optional): Unused. Defaults to None.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        return OptimWrapperDict(
            **{
                name: DefaultOptimWrapperConstructor(dict(cfg))(getattr(
                    model, name))
                for name, cfg in self.optim_wrapper_cfg.items()
            })
