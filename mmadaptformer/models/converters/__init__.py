# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Convert official AdaptFormer, VideoMAE and MAE checkpoints, and
MMAction2's own VideoMAE ones to other frames
(``tools/model_converters/convert_official.py``).

* :mod:`.convert`: :func:`convert_state_dict`, the entry point;
* :mod:`.detect`: which source format a state dict is;
* :mod:`.key_mapper`: the key-mapping machinery every format shares;
* :mod:`.pretrain`: VideoMAE and MAE pre-training checkpoints;
* :mod:`.finetuned`: official AdaptFormer (video, image) checkpoints;
* :mod:`.mmaction_zoo`: MMAction2's model-zoo VideoMAE checkpoints;
* :mod:`.report`: notes and the human-readable report;
* :mod:`.io`: reading official files, writing converted ones.
"""
from .common import (CONVERTIBLE_TYPES, DEFAULT_IMG_SIZE, DEFAULT_NUM_FRAMES,
                     FINAL_NORM_MODES, MMACTION2_TYPE, SOURCE_TYPES,
                     ConversionError, ConversionResult,
                     SourceTypeMismatchError, sinusoid_encoding)
from .convert import convert_state_dict
from .detect import check_source_type, detect_source_type
from .io import (load_official_checkpoint, save_converted_checkpoint,
                 strip_module_prefix, unwrap_checkpoint)
from .report import format_report

__all__ = [
    'SOURCE_TYPES', 'CONVERTIBLE_TYPES', 'MMACTION2_TYPE', 'FINAL_NORM_MODES',
    'ConversionError', 'ConversionResult', 'SourceTypeMismatchError',
    'check_source_type', 'load_official_checkpoint', 'unwrap_checkpoint',
    'detect_source_type', 'convert_state_dict', 'format_report',
    'save_converted_checkpoint', 'sinusoid_encoding', 'strip_module_prefix',
    'DEFAULT_NUM_FRAMES', 'DEFAULT_IMG_SIZE'
]
