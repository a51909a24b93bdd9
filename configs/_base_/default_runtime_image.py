# MMPretrain's default runtime with the recipes' hooks (default_hooks.py).
_base_ = ['mmpretrain::_base_/default_runtime.py', './default_hooks.py']

default_hooks = dict(
    _base_.recipe_hooks,
    # Off; tools/test.py --show-dir / --show turn it on. (mmpretrain's
    # VisualizationHook names each drawing by the image's file name alone,
    # so the images of class folders that share one overwrite each other.)
    visualization=dict(type='ImageVisualizationHook', enable=False))
