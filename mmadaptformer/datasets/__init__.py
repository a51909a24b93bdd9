# Copyright (c) mmadaptformer contributors. All rights reserved.
from .annotation_lists import (AnnotationError, AnnotationList, Sample,
                               check_files_exist, check_unique, format_summary,
                               write_annotation_list, write_label_map)
from .checked_video_dataset import BrokenVideoError, CheckedVideoDataset
from .cifar100 import verify_cifar100
from .food101 import (build_food101_file_lists, load_food101_classes,
                      parse_food101_split)
from .hmdb51 import (build_hmdb51_file_lists, find_hmdb51_split_files,
                     parse_hmdb51_split_file)
from .ssv2 import (build_ssv2_file_lists, load_ssv2_labels, parse_ssv2_split,
                   ssv2_template_to_class)
from .svhn import convert_svhn, load_svhn_mat

__all__ = [
    'AnnotationError', 'AnnotationList', 'Sample', 'check_files_exist',
    'check_unique', 'format_summary', 'write_annotation_list',
    'write_label_map', 'BrokenVideoError', 'CheckedVideoDataset',
    'verify_cifar100', 'build_food101_file_lists',
    'load_food101_classes', 'parse_food101_split', 'build_hmdb51_file_lists',
    'find_hmdb51_split_files', 'parse_hmdb51_split_file',
    'build_ssv2_file_lists', 'load_ssv2_labels', 'parse_ssv2_split',
    'ssv2_template_to_class', 'convert_svhn', 'load_svhn_mat'
]
