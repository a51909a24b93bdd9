# Copyright (c) mmadaptformer contributors. All rights reserved.
from .inference import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS,
                        InferenceInputError, ModelInferencer, TestInputs,
                        check_adapter_checkpoint, class_names, collect_inputs,
                        format_scores, init_model, test_pipeline_cfg,
                        toolbox_of)

__all__ = [
    'IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'InferenceInputError',
    'ModelInferencer', 'TestInputs', 'check_adapter_checkpoint',
    'class_names', 'collect_inputs', 'format_scores', 'init_model',
    'test_pipeline_cfg', 'toolbox_of'
]
