# Copyright (c) mmadaptformer contributors. All rights reserved.
from .task_streams import (MultiTaskAdaptMLP, TaskModules, TaskRoutedModule,
                           TaskStreams)

__all__ = [
    'MultiTaskAdaptMLP', 'TaskModules', 'TaskRoutedModule', 'TaskStreams'
]
