# Copyright (c) mmadaptformer contributors. All rights reserved.
"""SVHN ``<split>_32x32.mat`` -> PNG images + mmpretrain image lists.

Usage:
    python tools/data/svhn/convert_svhn.py MAT_DIR OUT_DIR \
        [--splits train test [extra]] [--overwrite]

Writes ``OUT_DIR/<split>/<digit>/<index>.png`` and ``OUT_DIR/meta/<split>.txt``
(lines ``<digit>/<index>.png <digit>``, relative to ``OUT_DIR/<split>``); the
.mat label 10 is the digit 0. A split folder that holds other files (e.g.
of an earlier, bigger run) stops it, unless ``--overwrite``. See README.md.
"""
import argparse
import sys

from mmadaptformer.datasets.annotation_lists import (AnnotationError,
                                                     format_summary)
from mmadaptformer.datasets.svhn import SVHN_SPLITS, convert_svhn
from mmadaptformer.utils.cli_types import refuse_data_folders


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert SVHN .mat files to PNG images and mmpretrain '
        'CustomDataset lists')
    parser.add_argument(
        'mat_dir', help='the folder of train_32x32.mat and test_32x32.mat')
    parser.add_argument('out_dir', help='where images and lists are written')
    parser.add_argument(
        '--splits',
        nargs='+',
        choices=SVHN_SPLITS,
        default=['train', 'test'],
        help='the splits to convert (default: train test)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='delete what OUT_DIR/<split> holds besides the images this run '
        'writes (e.g. of an earlier run); without it such files stop the '
        'conversion')
    args = parser.parse_args(argv)
    # Not there: a mistake of the command line (exit status 2); what a
    # folder lacks is found while reading it (exit status 1).
    refuse_data_folders(parser, [(args.mat_dir, 'MAT_DIR')],
                        (args.out_dir, 'OUT_DIR'))
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        written = convert_svhn(
            args.mat_dir, args.out_dir, args.splits, overwrite=args.overwrite)
    except (AnnotationError, OSError) as e:  # a failed write too
        sys.exit(f'error: {e}')
    print(format_summary('SVHN, 10 classes (digits 0-9):', written, 'images'))


if __name__ == '__main__':
    main()
