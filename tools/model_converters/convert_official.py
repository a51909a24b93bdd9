# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Convert an official AdaptFormer, VideoMAE or MAE checkpoint, or an
MMAction2 VideoMAE checkpoint to other frames.

Examples::

    # official AdaptFormer video checkpoint -> Recognizer3D (load_from)
    python tools/model_converters/convert_official.py \\
        checkpoint-89.pth adaptformer_vitb_ssv2.pth
    # VideoMAE pre-training -> backbone (init_cfg prefix='backbone.')
    python tools/model_converters/convert_official.py \\
        pretrain_videomae_base_k400.pth videomae_vitb_k400.pth --type videomae
    # MMAction2 model zoo (16 frames) -> 8-frame backbone (--pretrained)
    # (vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400_*.pth)
    python tools/model_converters/convert_official.py \\
        vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.pth \\
        videomae_vitb_k400-ft_8x224.pth --type mmaction2 --num-frames 8
    # straight from an address (downloaded into the torch hub cache and
    # loaded with weights_only=True, as MMEngine's load_checkpoint does)
    python tools/model_converters/convert_official.py \\
        https://example.org/checkpoint-89.pth adaptformer_vitb_ssv2.pth
    # weights of a model of ours nested under a key (an EMA copy):
    # taken out as they are (load_from, tools/test.py)
    python tools/model_converters/convert_official.py \\
        ema.pth model.pth --key model_ema --unwrap-only

The mapping lives in :mod:`mmadaptformer.models.converters`.
"""
import argparse
import sys

# yapf: disable
from mmadaptformer.models.converters import (CONVERTIBLE_TYPES,
                                             DEFAULT_IMG_SIZE,
                                             DEFAULT_NUM_FRAMES,
                                             FINAL_NORM_MODES, ConversionError,
                                             ConversionResult,
                                             SourceTypeMismatchError,
                                             convert_state_dict, format_report,
                                             load_official_checkpoint,
                                             save_converted_checkpoint,
                                             strip_module_prefix,
                                             unwrap_checkpoint)
# yapf: enable
from mmadaptformer.utils import CheckpointLoadError, positive_int
from mmadaptformer.utils.converter_cli import parse_converter_args

#: This tool's order of files, for a config or a video given as SRC.
ORDER = ('convert_official.py takes the official checkpoint to convert, '
         'then the file to write, and no config (convert_official.py SRC '
         'DST [OPTIONS])')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Convert an official AdaptFormer / VideoMAE / MAE '
        'checkpoint to the key layout of mmadaptformer, or an MMAction2 '
        'VideoMAE checkpoint (its model zoo) to other frames')
    parser.add_argument(
        'src',
        help='source checkpoint file, or its http(s):// address (downloaded '
        'into the torch hub cache and loaded with weights_only=True, as '
        'load_checkpoint does)')
    parser.add_argument('dst', help='output checkpoint file')
    parser.add_argument(
        '--type',
        default='auto',
        choices=('auto', ) + CONVERTIBLE_TYPES,
        help='source layout; auto detects it from the key names. mmaction2: '
        "MMAction2's own VideoMAE layout (its model zoo's files, built for "
        '16 frames): the backbone is kept, its fixed pos_embed rebuilt for '
        '--num-frames/--img-size, the cls_head dropped')
    parser.add_argument(
        '--final-norm',
        choices=FINAL_NORM_MODES,
        help="a source final 'norm': keep it as the backbone's final norm, "
        "or drop it for mean pooling ('pooled'; pre-training checkpoints "
        'then get an identity pooled-feature norm). Defaults to pooled for '
        'video, keep for image')
    parser.add_argument(
        '--img-size',
        type=positive_int,
        help='video input size, to rebuild the fixed pos_embed that VideoMAE '
        'does not save (and that mmaction2 saves for its own input). '
        f'Defaults to {DEFAULT_IMG_SIZE}')
    parser.add_argument(
        '--num-frames',
        type=positive_int,
        help='video input frames, to rebuild the fixed pos_embed. Defaults '
        f'to {DEFAULT_NUM_FRAMES} (every recipe here and the official '
        'main_video.py; mmaction2 model-zoo files hold it for 16)')
    parser.add_argument(
        '--key',
        help='the key the weights are nested under, at the top level or '
        "under 'state_dict' (e.g. teacher, for a DINO file that holds "
        'student and teacher weights). Defaults to the first of '
        'state_dict, model, module, model_ema, state_dict_ema that holds '
        'them, or the one other key that does')
    parser.add_argument(
        '--unwrap-only',
        action='store_true',
        help='take the weights out of the key they are nested under (see '
        "--key) and save them under 'state_dict' as they are, converting "
        "nothing: for a file whose tensors carry the model's own "
        'MMAction2/MMPretrain names (e.g. an EMA copy of a model trained '
        'here), which tools/test.py and load_from name as such')
    parser.add_argument(
        '--no-identity-bn',
        dest='identity_bn',
        action='store_false',
        help='for a plain Linear source head, write the Linear only (for '
        'TimeSformerHead/LinearClsHead) instead of adding identity '
        'BNLinearHead statistics')
    return parser


def parse_args(argv=None):
    parser = build_parser()
    # Converting in place would lose the original.
    args = parse_converter_args(
        parser,
        argv,
        'dst', [('src', 'source checkpoint')],
        addresses=('src', ),
        order=ORDER)
    if args.unwrap_only:
        # Each would be dropped without a word: nothing is converted.
        given = [
            option
            for option, value in (('--type', args.type != 'auto'),
                                  ('--final-norm',
                                   args.final_norm is not None),
                                  ('--img-size', args.img_size is not None),
                                  ('--num-frames',
                                   args.num_frames is not None),
                                  ('--no-identity-bn', not args.identity_bn))
            if value
        ]
        if given:
            parser.error(f'--unwrap-only converts nothing, so it takes no '
                         f'{", ".join(given)}: leave '
                         f'{"them" if len(given) > 1 else "it"} out, or '
                         'leave out --unwrap-only to convert.')
    if args.img_size is None:
        args.img_size = DEFAULT_IMG_SIZE
    if args.num_frames is None:
        args.num_frames = DEFAULT_NUM_FRAMES
    return args


def wrong_type_message(src: str, error: SourceTypeMismatchError) -> str:
    """The refusal of a ``--type`` that the key names contradict: what the
    checkpoint holds, the type it is and the ``--type`` to pass. A mistake
    of the command line's ``--type``, said as one (exit status 2), though
    it is known only once the file is read."""
    return (f'--type {error.source_type}: cannot convert {src}: '
            f'{error.reason} Its key names say it is {error.detected!r}, '
            f'not {error.source_type!r}: pass --type {error.detected}, or '
            'leave --type out to detect it.')


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        checkpoint = load_official_checkpoint(args.src)
        state_dict, where = unwrap_checkpoint(checkpoint, args.key)
    except (ConversionError, CheckpointLoadError, FileNotFoundError) as e:
        sys.exit(f'Error: cannot convert {args.src}: {e}')
    if args.unwrap_only:
        # Already in the model's layout: converting would treat it as an
        # official one (e.g. rebuild a pos_embed for 224 px, 8 frames). A
        # wrapper's 'module.' goes, once, as a conversion strips it.
        try:
            state_dict = strip_module_prefix(state_dict)
        except ConversionError as e:
            sys.exit(f'Error: cannot convert {args.src}: {e}')
        result = ConversionResult(state_dict, source_type='unwrapped')
        print(f'Read {len(state_dict)} tensors from {where} of {args.src}; '
              'kept as they are')
        save_converted_checkpoint(result, args.dst, converted_from=args.src)
        print(f'Saved {len(state_dict)} tensors to {args.dst}')
        return
    try:
        result = convert_state_dict(
            state_dict,
            source_type=args.type,
            final_norm=args.final_norm,
            img_size=args.img_size,
            num_frames=args.num_frames,
            identity_bn=args.identity_bn,
            strict=False)
    except SourceTypeMismatchError as e:
        build_parser().error(wrong_type_message(args.src, e))
    except ConversionError as e:
        sys.exit(f'Error: cannot convert {args.src}: {e}')

    print(f'Read {len(state_dict)} tensors from {where} of {args.src}')
    print(format_report(result))
    if result.unmapped:
        sys.exit(f'Error: {args.src} was not converted; '
                 f'{len(result.unmapped)} key(s) could not be mapped: '
                 f'{", ".join(result.unmapped)}')
    save_converted_checkpoint(result, args.dst, converted_from=args.src)
    print(f'Saved {len(result.state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
