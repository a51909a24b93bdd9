# Copyright (c) mmadaptformer contributors. All rights reserved.
from .official import (FINAL_NORM_MODES, SOURCE_TYPES, ConversionError,
                       ConversionResult, convert_state_dict,
                       detect_source_type, format_report,
                       load_official_checkpoint, save_converted_checkpoint,
                       sinusoid_encoding, unwrap_checkpoint)

__all__ = [
    'SOURCE_TYPES', 'FINAL_NORM_MODES', 'ConversionError', 'ConversionResult',
    'load_official_checkpoint', 'unwrap_checkpoint', 'detect_source_type',
    'convert_state_dict', 'format_report', 'save_converted_checkpoint',
    'sinusoid_encoding'
]
