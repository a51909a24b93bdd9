# MMAction2's default runtime with the recipes' hooks (default_hooks.py).
_base_ = ['mmaction::_base_/default_runtime.py', './default_hooks.py']

default_hooks = dict(
    _base_.recipe_hooks,
    # Off; tools/test.py --show-dir / --show turn it on. (mmaction2 1.2's
    # VisualizationHook fails on multi-view test batches.)
    visualization=dict(type='VideoVisualizationHook', enable=False))
