# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Food-101 ``meta/{train,test}.txt`` -> mmpretrain image lists.

Usage:
    python tools/data/food101/build_file_list.py ROOT OUT_DIR \
        [--check-images] [--num-classes 101]

ROOT is the extracted ``food-101`` folder. Writes ``OUT_DIR/{train,test}.txt``
(lines ``<class>/<image id>.jpg <label>``, relative to ``ROOT/images``;
label = line index in ``meta/classes.txt``). See README.md.
"""
import argparse
import sys

from mmadaptformer.datasets.annotation_lists import (AnnotationError,
                                                     format_summary)
from mmadaptformer.datasets.food101 import (FOOD101_NUM_CLASSES,
                                            build_food101_file_lists)
from mmadaptformer.utils.cli_types import refuse_data_folders


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Build mmpretrain CustomDataset lists for Food-101')
    parser.add_argument(
        'root', help='the food-101 folder (with images/ and meta/)')
    parser.add_argument('out_dir', help='where the lists are written')
    parser.add_argument(
        '--check-images',
        action='store_true',
        help='check that every listed image is a file under ROOT/images')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=FOOD101_NUM_CLASSES,
        help='the number of classes meta/classes.txt must have '
        f'(default: {FOOD101_NUM_CLASSES})')
    args = parser.parse_args(argv)
    # Not there: a mistake of the command line (exit status 2); what a
    # folder lacks is found while reading it (exit status 1).
    refuse_data_folders(parser, [(args.root, 'ROOT')],
                        (args.out_dir, 'OUT_DIR'))
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        written = build_food101_file_lists(
            args.root,
            args.out_dir,
            check_images=args.check_images,
            num_classes=args.num_classes)
    except (AnnotationError, OSError) as e:  # a failed write too
        sys.exit(f'error: {e}')
    print(
        format_summary(
            f'Food-101, {args.num_classes} classes'
            f'{", all images found" if args.check_images else ""}:', written,
            'images'))


if __name__ == '__main__':
    main()
