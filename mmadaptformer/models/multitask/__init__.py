# Copyright (c) mmadaptformer contributors. All rights reserved.
from .meta_build import parameters_on_meta
from .task_streams import (MultiTaskAdaptMLP, TaskModules, TaskRoutedModule,
                           TaskStreams)

__all__ = [
    'MultiTaskAdaptMLP', 'TaskModules', 'TaskRoutedModule', 'TaskStreams',
    'parameters_on_meta'
]
