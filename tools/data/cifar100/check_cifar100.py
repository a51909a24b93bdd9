# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check offline that mmpretrain's CIFAR100 loads an extracted folder.

Usage:
    python tools/data/cifar100/check_cifar100.py DATA_ROOT \
        [--splits train test]

DATA_ROOT holds ``cifar-100-python/`` (from ``cifar-100-python.tar.gz``);
it is the ``data_root`` of the dataset config. Names the first file that is
missing or whose md5 is not the one mmpretrain expects, then loads each
split with ``CIFAR100(..., download=False)``. See README.md.
"""
import argparse
import sys

from mmadaptformer.datasets.annotation_lists import AnnotationError
from mmadaptformer.datasets.cifar100 import CIFAR100_SPLITS, verify_cifar100
from mmadaptformer.utils.cli_types import refuse_data_folders


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Check that mmpretrain CIFAR100 loads DATA_ROOT offline')
    parser.add_argument(
        'data_root', help='the folder that holds cifar-100-python/')
    parser.add_argument(
        '--splits',
        nargs='+',
        choices=CIFAR100_SPLITS,
        default=list(CIFAR100_SPLITS),
        help='the splits to load (default: train test)')
    args = parser.parse_args(argv)
    # Not there: a mistake of the command line (exit status 2); what a
    # folder lacks is found while reading it (exit status 1).
    refuse_data_folders(parser, [(args.data_root, 'DATA_ROOT')])
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        counts = verify_cifar100(args.data_root, args.splits)
    except (AnnotationError, OSError) as e:  # a file it cannot read too
        sys.exit(f'error: {e}')
    print(f'CIFAR-100 in {args.data_root} loads offline with mmpretrain '
          'CIFAR100(download=False), 100 classes:')
    for split, count in counts.items():
        print(f'  {split:<5}  {count:>7} images')


if __name__ == '__main__':
    main()
