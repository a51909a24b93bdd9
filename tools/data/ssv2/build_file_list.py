# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Something-Something V2 JSON annotations -> mmaction2 video lists.

Usage:
    python tools/data/ssv2/build_file_list.py ANN_DIR OUT_DIR \
        [--check-videos [--video-dir DIR]] [--num-classes 174]

Reads ``something-something-v2-{train,validation,labels}.json`` in ANN_DIR
and writes ``OUT_DIR/sthv2_{train,val}_list_videos.txt`` (lines
``<id>.webm <label>``) and ``OUT_DIR/sthv2_label_map.txt``. See README.md.
"""
import argparse
import os.path as osp
import sys

from mmadaptformer.datasets.annotation_lists import (AnnotationError,
                                                     format_summary)
from mmadaptformer.datasets.ssv2 import (SSV2_ANNOTATION_FILES,
                                         SSV2_NUM_CLASSES,
                                         build_ssv2_file_lists)
from mmadaptformer.utils.cli_types import refuse_data_folders
from mmadaptformer.utils.local_files import first_missing_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Build mmaction2 VideoDataset lists for SSv2')
    parser.add_argument(
        'ann_dir', help='the folder of the owners\' JSON annotation files')
    parser.add_argument('out_dir', help='where the lists are written')
    for split, name in SSV2_ANNOTATION_FILES.items():
        parser.add_argument(
            f'--{split}-json',
            help=f'the {split} JSON, relative to ANN_DIR (default: {name})')
    parser.add_argument(
        '--check-videos',
        action='store_true',
        help='check that every listed video is a file in --video-dir '
        '(with a progress bar on a terminal)')
    parser.add_argument(
        '--video-dir',
        help='the folder of <id>.webm (default: OUT_DIR/videos)')
    parser.add_argument(
        '--ext',
        default='.webm',
        help='the videos\' extension (default: .webm)')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=SSV2_NUM_CLASSES,
        help='the number of classes the labels JSON must have '
        f'(default: {SSV2_NUM_CLASSES})')
    args = parser.parse_args(argv)
    if not args.ext.strip('.') or any(c in args.ext for c in '/\\ '):
        parser.error(f'--ext {args.ext!r} is not a file extension')
    if not args.ext.startswith('.'):
        args.ext = '.' + args.ext  # mp4 -> .mp4, not '<id>mp4'
    # Not there: a mistake of the command line (exit status 2); what a
    # folder lacks is found while reading it (exit status 1).
    refuse_data_folders(
        parser,
        [(args.ann_dir, 'ANN_DIR'),
         (args.video_dir if args.check_videos else None, '--video-dir')],
        (args.out_dir, 'OUT_DIR'))
    # A JSON the command line names is its input, as ANN_DIR is (exit
    # status 2); a default one missing from ANN_DIR is found while reading.
    given = []
    for split, name in SSV2_ANNOTATION_FILES.items():
        option = f'{split}_json'
        if getattr(args, option) is not None:
            given.append((osp.join(args.ann_dir,
                                   getattr(args, option)), f'--{split}-json'))
        else:
            setattr(args, option, name)
    missing = first_missing_file(given)
    if missing:
        parser.error(missing)
    return args


def main(argv=None):
    args = parse_args(argv)
    video_dir = None
    if args.check_videos:
        video_dir = args.video_dir or osp.join(args.out_dir, 'videos')
    try:
        written = build_ssv2_file_lists(
            osp.join(args.ann_dir, args.train_json),
            osp.join(args.ann_dir, args.val_json),
            osp.join(args.ann_dir, args.labels_json),
            args.out_dir,
            video_dir=video_dir,
            num_classes=args.num_classes,
            ext=args.ext)
    except (AnnotationError, OSError) as e:  # a failed write too
        sys.exit(f'error: {e}')
    print(
        format_summary(
            f'Something-Something V2, {args.num_classes} classes'
            f'{", all videos found" if video_dir else ""}:', written,
            'videos'))


if __name__ == '__main__':
    main()
