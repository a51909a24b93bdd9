# Copyright (c) mmadaptformer contributors. All rights reserved.
"""HMDB51 official split files -> mmaction2 video lists.

Usage:
    python tools/data/hmdb51/build_file_list.py SPLIT_DIR OUT_DIR \
        [--split {1,2,3}] [--check-videos [--video-dir DIR]] \
        [--num-classes 51]

Reads ``<class>_test_split{1,2,3}.txt`` in SPLIT_DIR and writes
``OUT_DIR/hmdb51_{train,val}_split_{k}_videos.txt`` (lines
``<class>/<video>.avi <label>``, labels by sorted class name) and
``OUT_DIR/hmdb51_label_map.txt``. See README.md.
"""
import argparse
import os.path as osp
import sys

from mmadaptformer.datasets.annotation_lists import (AnnotationError,
                                                     format_summary)
from mmadaptformer.datasets.hmdb51 import (HMDB51_NUM_CLASSES, HMDB51_SPLITS,
                                           build_hmdb51_file_lists)
from mmadaptformer.utils.cli_types import refuse_data_folders


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Build mmaction2 VideoDataset lists for HMDB51')
    parser.add_argument(
        'split_dir',
        help='the folder of <class>_test_split<k>.txt files '
        '(testTrainMulti_7030_splits)')
    parser.add_argument('out_dir', help='where the lists are written')
    parser.add_argument(
        '--split',
        type=int,
        choices=HMDB51_SPLITS,
        help='the split to write (default: all three)')
    parser.add_argument(
        '--check-videos',
        action='store_true',
        help='check that every listed video is a file '
        '--video-dir/<class>/<video>.avi (with a progress bar on a terminal)')
    parser.add_argument(
        '--video-dir',
        help='the folder of class folders (default: '
        'OUT_DIR/videos)')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=HMDB51_NUM_CLASSES,
        help='the number of classes each split must have '
        f'(default: {HMDB51_NUM_CLASSES})')
    args = parser.parse_args(argv)
    # Not there: a mistake of the command line (exit status 2); what a
    # folder lacks is found while reading it (exit status 1).
    refuse_data_folders(
        parser,
        [(args.split_dir, 'SPLIT_DIR'),
         (args.video_dir if args.check_videos else None, '--video-dir')],
        (args.out_dir, 'OUT_DIR'))
    return args


def main(argv=None):
    args = parse_args(argv)
    video_dir = None
    if args.check_videos:
        video_dir = args.video_dir or osp.join(args.out_dir, 'videos')
    splits = HMDB51_SPLITS if args.split is None else (args.split, )
    try:
        written = build_hmdb51_file_lists(
            args.split_dir,
            args.out_dir,
            splits=splits,
            video_dir=video_dir,
            num_classes=args.num_classes)
    except (AnnotationError, OSError) as e:  # a failed write too
        sys.exit(f'error: {e}')
    print(
        format_summary(
            f'HMDB51, {args.num_classes} classes'
            f'{", all videos found" if video_dir else ""}:', written,
            'videos'))


if __name__ == '__main__':
    main()
