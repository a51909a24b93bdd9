# MMPretrain's default runtime with the recipes' hooks (default_hooks.py).
_base_ = ['mmpretrain::_base_/default_runtime.py', './default_hooks.py']

default_hooks = dict(
    _base_.recipe_hooks,
    # Off; tools/test.py --show-dir / --show turn it on. (mmpretrain's
    # VisualizationHook names each drawing by the image's file name alone,
    # so the images of class folders that share one overwrite each other.)
    visualization=dict(type='ImageVisualizationHook', enable=False))

# The runner of tools/train.py and tools/test.py, named so that MMPretrain's
# own tools (which build a config's runner_type) build it too: the work
# dir's config copy, which adapter-only checkpoints are loaded with, is
# written only by a training run that started, never by a test.
runner_type = 'ConfigCopyRunner'
