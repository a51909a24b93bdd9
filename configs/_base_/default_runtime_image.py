# MMPretrain's default runtime with the recipes' hooks (default_hooks.py).
_base_ = ['mmpretrain::_base_/default_runtime.py', './default_hooks.py']

default_hooks = _base_.recipe_hooks
