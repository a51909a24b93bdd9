# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The command line of ``tools/infer.py``: its parser, and the checks of its
arguments that run before any model is loaded (exit status 2). The help
text after the options (inputs, outputs, exit status) is
:data:`~.infer_help.EPILOG`."""
import argparse
import os.path as osp

from mmadaptformer.utils import positive_int
from mmadaptformer.utils.cfg_options import add_cfg_options
from mmadaptformer.utils.cli_types import check_device, refuse_input_files
from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.config_inputs import config_file_problem
from mmadaptformer.utils.control_characters import escape_controls
from mmadaptformer.utils.local_files import home_expanded
from mmadaptformer.utils.output_file import output_file_problem
from .infer_configs import (folder_readers_of, read_model_configs,
                            unreadable_config_line)
from .infer_files import LIST_EXTENSIONS, InferenceInputError
from .infer_help import EPILOG
from .infer_label_maps import label_map_role, split_label_maps
from .infer_stop import partial_results_path
from .input_lists import STDIN, read_input_list
from .input_refusals import input_path_problem
from .inputs import RESERVED_NAME
from .model_inferencer import ModelInferencer
from .multitask_tasks import TaskError, check_task_name
from .show_dir import show_dir_paths

__all__ = [
    'LIST_EXTENSIONS', 'STDOUT', 'InferParser', 'infer_parser',
    'parse_infer_args'
]

#: The ``--out`` that writes the JSON to stdout.
STDOUT = '-'

#: How a refusal names the file beside ``--out`` that a stopped run
#: writes its results so far to.
_PARTIAL = ('the file beside --out that a stopped run writes its results '
            'so far to,')


class InferParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors show control characters escaped
    (:func:`~mmadaptformer.utils.control_characters.escape_controls`): they
    name the paths given, and a file name can hold a terminal's control
    sequences (``ESC [2J`` clears the screen)."""

    def error(self, message: str):
        """Print the usage and ``message``, escaped, and exit with
        status 2."""
        super().error(escape_controls(message))


def infer_parser() -> argparse.ArgumentParser:
    """The parser of ``tools/infer.py``."""
    parser = InferParser(
        description='Classify videos or images with trained models.',
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'args',
        nargs='*',
        metavar='CONFIG CHECKPOINT INPUT',
        help='without --task: the config, the checkpoint and the inputs; '
        'with --task: the inputs only')
    parser.add_argument(
        '--task',
        nargs=3,
        action='append',
        metavar=('NAME', 'CONFIG', 'CHECKPOINT'),
        help='a task served on the shared frozen backbone; repeat it')
    parser.add_argument(
        '--pretrained',
        metavar='CHECKPOINT',
        help='pretrained weights of the frozen backbone, as in '
        'tools/test.py: for adapter-only checkpoints whose config does not '
        'point at the backbone they were trained on; with --task, for every '
        'task (they share the backbone)')
    add_cfg_options(
        parser, extra_help='With --task, they change every task\'s config.')
    parser.add_argument(
        '--list',
        action='append',
        default=[],
        metavar='FILE',
        help='a text file of inputs, one path a line (an annotation file\'s '
        '"path label" lines too); its paths follow the INPUTs; repeat it; '
        '"-" reads standard input, once')
    parser.add_argument(
        '--list-root',
        metavar='DIR',
        help='the folder the relative paths of --list are resolved against '
        '(default: each list\'s own folder)')
    parser.add_argument(
        '--out',
        help='write the results to this JSON file; "-" writes the JSON to '
        'stdout instead of the result lines; a run stopped before every '
        'input was answered writes what it has to NAME.partial.json beside '
        'it instead, and leaves this file as it was')
    parser.add_argument(
        '--show-dir',
        metavar='DIR',
        help='draw each input with its predicted classes into this folder: '
        'videos as .mp4, images as .png (see below)')
    parser.add_argument(
        '--device', default='cpu', help='cpu or cuda (default: cpu)')
    parser.add_argument(
        '--batch-size',
        type=positive_int,
        default=1,
        help='inputs per forward (default: 1)')
    parser.add_argument(
        '--label-map',
        action='append',
        metavar='FILE or NAME=FILE',
        help='class names file, the class of label i on line i + 1 '
        '(default: the classes saved in the checkpoint\'s meta, else from '
        'the config or the label map next to its ann_file); with --task, '
        'NAME=FILE names the classes of task NAME: repeat it for each task '
        'that needs one (the others keep their defaults)')
    parser.add_argument(
        '--topk',
        type=positive_int,
        default=3,
        help='how many classes to print per input and task (default: 3)')
    return parser


def parse_infer_args(argv=None) -> argparse.Namespace:
    """Parse and check ``tools/infer.py``'s arguments, before any model
    loads.

    Args:
        argv (list[str], optional): The arguments. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The arguments, with ``inputs`` (the INPUT
        words), ``files`` (the files they and the ``--list`` files name, in
        that order) and, without ``--task``, ``config`` and
        ``checkpoint``.
    """
    parser = infer_parser()
    args = parser.parse_intermixed_args(argv)
    if args.task:
        args.inputs = args.args
        for word in args.inputs:
            # An INPUT is a video, an image or a folder: never these.
            if osp.splitext(word)[1].lower() in _NOT_INPUTS and \
                    not osp.isdir(word):
                parser.error(
                    f'{word}: a config or checkpoint among the INPUTs of '
                    '--task; give either CONFIG CHECKPOINT INPUT ... or '
                    '--task NAME CONFIG CHECKPOINT ... INPUT ..., not both')
    else:
        if len(args.args) < (2 if args.list else 3):
            if len(args.args) == 2:
                # CONFIG clip.mp4 (the checkpoint left out, one input): the
                # video is named as with two inputs, not the usage.
                refuse_input_files(parser, [(args.args[0], 'config')],
                                   [(args.args[1], 'checkpoint')])
            parser.error('give CONFIG CHECKPOINT INPUT [INPUT ...], or '
                         '--task NAME CONFIG CHECKPOINT ... INPUT ...')
        args.config, args.checkpoint = args.args[:2]
        args.inputs = args.args[2:]
    if not args.inputs and not args.list:
        parser.error('no INPUT given')
    _expand_home(args)
    _check_lists(parser, args)
    for word in args.inputs:
        # Given on the command line, as the config and checkpoint are: a
        # usage error before anything loads, as a missing --list path is.
        problem = input_path_problem(word)
        if problem:
            parser.error(f'INPUT {problem}')
    seen = {}
    for name, config, _ in args.task or []:
        if name in seen:
            # Nothing is loaded yet: add_task's "already loaded" would
            # puzzle.
            parser.error(f'--task {name} is given twice, with {seen[name]} '
                         f'and {config}; the results are keyed by task name, '
                         'so give each task its own')
        try:
            check_task_name(name, seen)
        except TaskError as e:
            parser.error(f'--task {name} {config}: {e}')
        seen[name] = config
    try:
        args.label_map, args.label_maps = split_label_maps(
            args.label_map, [name for name, _, _ in args.task or []])
    except ValueError as e:
        parser.error(str(e))
    if not args.task and ModelInferencer.default_name(
            args.config) == RESERVED_NAME:
        parser.error(f'{args.config}: the results name the model after the '
                     f'config file, and {RESERVED_NAME!r} is their error key; '
                     'rename the file or give --task NAME CONFIG CHECKPOINT')
    models = _models(args)
    config_files = [(config, 'config') for config, _ in models]
    checkpoints = [(checkpoint, 'checkpoint') for _, checkpoint in models]
    checkpoints.append((args.pretrained, '--pretrained'))
    label_maps = [(args.label_map, '--label-map')]
    label_maps += [(path, label_map_role(name))
                   for name, path in args.label_maps.items()]
    # The tools' one order (a file not there, a config that is none, a
    # checkpoint that is another file), as a usage error before anything
    # loads; with --task too. A checkpoint's address (https://,
    # open-mmlab://) is read when the model loads.
    refuse_input_files(parser, config_files, checkpoints, label_maps)
    files = config_files + checkpoints + label_maps
    try:
        inputs = list(args.inputs)
        for path in args.list:
            inputs += read_input_list(path, args.list_root)
        # Before any model loads; a folder's kind is read from the configs,
        # each read once.
        unread = {}
        configs = read_model_configs([c for c, _ in models], args.cfg_options,
                                     unread)
        if not args.task and unread:
            # Nothing can be answered: said once, as train.py and test.py
            # say it, not as an error in every input.
            parser.error(
                unreadable_config_line(args.config, unread[args.config]))
        args.files = folder_readers_of(configs).collect(inputs)
    except (InferenceInputError, ConfigError) as e:
        parser.error(str(e))
    if args.out is not None and args.out != STDOUT:
        reads = files + [(path, '--list')
                         for path in args.list if path != STDIN] + \
            [(path, 'input') for path in args.files]
        # Nor may the file a stopped run writes its results so far to.
        partial = partial_results_path(args.out)
        problem = output_file_problem(args.out, '--out', reads) or \
            _config_file_problem(args.out, configs) or \
            output_file_problem(partial, _PARTIAL, reads) or \
            _config_file_problem(partial, configs, _PARTIAL)
        if problem:
            parser.error(problem)
        ext = osp.splitext(args.out)[1].lower()
        if ext in _OTHER_FORMATS:
            # MMEngine's dump and tools/test.py --dump write these formats;
            # JSON in a .pkl file fails pickle.load with no word of why.
            parser.error(
                f'--out {args.out}: the results are written as JSON, but '
                f'{ext!r} names {_OTHER_FORMATS[ext]}; give a .json file '
                '(tools/test.py --dump writes the predictions as a pickle)')
    if args.show_dir is not None:
        _check_show_dir(parser, args, inputs, files)
    check_device(parser, args.device)
    return args


def _expand_home(args) -> None:
    """Expand a leading ``~`` that the shell left (quoted, or after
    ``--option=``) in the checkpoints, which MMEngine's CheckpointLoader
    expands too, and in ``--out`` and ``--show-dir``, which would
    otherwise be written into a folder named ``~`` in the working
    directory. Configs, label maps, lists and inputs are read as written
    (``Config.fromfile``, ``open`` and decord do not expand it)."""
    if args.task:
        args.task = [[name, config, home_expanded(checkpoint)]
                     for name, config, checkpoint in args.task]
    else:
        args.checkpoint = home_expanded(args.checkpoint)
    args.pretrained = home_expanded(args.pretrained)
    if args.out != STDOUT:
        args.out = home_expanded(args.out)
    args.show_dir = home_expanded(args.show_dir)


def _check_show_dir(parser, args, inputs: list, files: list) -> None:
    """Refuse a ``--show-dir`` that is a file, or whose drawings would
    replace a file read or land in a folder INPUT."""
    reads = files + [(path, '--list') for path in args.list if path != STDIN]
    if args.out is not None and args.out != STDOUT:
        reads.append((args.out, '--out'))
    try:
        show_dir_paths(args.show_dir, args.files, 'video', inputs, reads)
    except ValueError as e:
        parser.error(str(e))


def _check_lists(parser, args) -> None:
    """Refuse a list file given as an INPUT (it was classified, and failed
    as neither a video nor an image), and a ``--list-root`` that cannot be
    used."""
    for word in args.inputs:
        if osp.splitext(word)[1].lower() in LIST_EXTENSIONS and \
                osp.isfile(word):
            parser.error(f'{word}: a text file among the INPUTs; to classify '
                         f'the files it lists, give --list {word}')
    if args.list.count(STDIN) > 1:
        parser.error(f'--list {STDIN} is given {args.list.count(STDIN)} '
                     'times; standard input is read once, so give it once')
    if args.list_root is not None:
        if not args.list:
            parser.error('--list-root is the folder of the paths of --list; '
                         'give --list FILE too')
        if not osp.isdir(args.list_root):
            parser.error(f'--list-root {args.list_root}: no such folder')


# What a word ending so names is never an INPUT (--task's misplaced ones).
_NOT_INPUTS = ('.py', '.pth')
# --out extensions of the other formats mmengine.dump writes.
_OTHER_FORMATS = {
    '.pkl': 'a pickle',
    '.pickle': 'a pickle',
    '.yaml': 'YAML',
    '.yml': 'YAML'
}


def _config_file_problem(out: str, configs: dict, what: str = '--out'):
    """The line for an ``--out`` (``what``) that is a ``_base_`` of a
    config, or a file a config names (its label map, pretrained
    backbone...), else None."""
    for config, cfg in configs.items():
        if cfg is None:
            # Its _base_ files may not parse either; no model is loaded
            # from it, and nothing it names is read.
            continue
        problem = config_file_problem(out, what, config, cfg)
        if problem:
            return problem
    return None


def _models(args) -> list:
    """``(config, checkpoint)`` of each model."""
    return [tuple(t[1:]) for t in args.task] if args.task else \
        [(args.config, args.checkpoint)]
