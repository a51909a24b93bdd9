# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The modes, autocast dtypes and command-line options of the training
benchmark (``tools/analysis_tools/benchmark_train.py``)."""
import argparse
import os
from typing import Any, Dict, List, Optional, Tuple

MODES = {
    'adaptformer': 'AdaptFormer (adapters + head train)',
    'linear_probe': 'linear probe (head trains)',
    'full_ft': 'full fine-tuning (stock model)',
    'adaptformer_plain': 'AdaptFormer, no fast path',
    'full_ft_fast': 'full fine-tuning with the exact fast path',
}
DEFAULT_MODES = ('adaptformer', 'linear_probe', 'full_ft')
REFERENCE_MODE = 'full_ft'
AMP_DTYPES = {'none': None, 'bf16': 'bfloat16', 'fp16': 'float16'}
ADAPTFORMER_TYPES = ('AdaptFormer', 'mmaction.AdaptFormer',
                     'mmpretrain.AdaptFormer')
#: The wrappers whose ``backbone`` is the host the modes are measured on.
WRAPPER_TYPES = ADAPTFORMER_TYPES + ('VPT', 'mmaction.VPT', 'mmpretrain.VPT')


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default in ``--help`` unless it is None or False
    (those options say in their help what happens without them)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


#: Why a training step needs at least 2 samples per batch.
BATCH_SIZE_REASON = (
    'a training step of batch 1 fails in training-mode BatchNorm (e.g. the '
    'BN + Linear head of the AdaptFormer recipes), which needs more than '
    'one value per channel')


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's argument parser (:func:`parse_args` checks the
    values it returns; its ``error`` reports a bad value found later).

    Returns:
        argparse.ArgumentParser: The parser of ``benchmark_train.py``.
    """
    from mmadaptformer.utils.cfg_options import add_cfg_options
    parser = argparse.ArgumentParser(
        prog='benchmark_train.py',
        formatter_class=DefaultsHelpFormatter,
        description='Benchmark training speed and memory of AdaptFormer, '
        'linear probing and full fine-tuning of a config\'s model')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--modes',
        nargs='+',
        choices=list(MODES),
        default=list(DEFAULT_MODES),
        help='modes to measure, each in a fresh process: ' +
        '; '.join(f'{k}: {v}' for k, v in MODES.items()))
    parser.add_argument(
        '--batch-size',
        type=int,
        help='clips/images per step, at least 2 (default: '
        'train_dataloader.batch_size)')
    parser.add_argument(
        '--num-frames',
        type=int,
        help='frames per clip (default: from the train pipeline)')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs='+',
        help='input size, H or H W (default: from the train pipeline)')
    parser.add_argument(
        '--iters', type=int, default=10, help='measured steps per mode')
    parser.add_argument(
        '--warmup', type=int, default=3, help='unmeasured steps first')
    parser.add_argument(
        '--repeat',
        type=int,
        default=1,
        help='rounds over all modes; ratios are taken within each round')
    parser.add_argument(
        '--amp',
        nargs='+',
        choices=list(AMP_DTYPES),
        default=['none'],
        help='autocast dtypes (CPU: bf16 only); with several, every mode '
        'runs with each, e.g. --amp none bf16')
    parser.add_argument(
        '--peak-tflops',
        nargs='+',
        metavar='AMP=TFLOPS',
        help='the device\'s datasheet peak (dense) per autocast dtype, e.g. '
        '--peak-tflops bf16=989 fp16=989 (an H100 SXM or H200); rows of '
        'those dtypes get the model FLOP utilisation (MFU) and the hardware '
        'FLOP utilisation (HFU) against it, rows without one only the '
        'utilisation of the measured matmul. float32 rows (none) run their '
        'matmuls without TF32, PyTorch\'s default, so their peak is the '
        'FP32 one')
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        help='default: cuda if available, else cpu')
    parser.add_argument(
        '--threads', type=int, help='torch.set_num_threads in each mode')
    parser.add_argument(
        '--no-fused-attn',
        action='store_true',
        help='ablation: host attention in the adaptformer mode')
    parser.add_argument(
        '--no-contiguous-tokens',
        action='store_true',
        help='ablation: host token layout in the adaptformer mode')
    parser.add_argument(
        '--with-cp',
        action='store_true',
        help='activation checkpointing of the blocks in the adaptformer mode')
    parser.add_argument(
        '--no-frozen-prefix',
        action='store_true',
        help='ablation: the backbone input requires a gradient, so autograd '
        'records the blocks in front of the first adapter too (as when a '
        'part there trains)')
    parser.add_argument(
        '--naive-freeze',
        action='store_true',
        help='ablation: frozen weights keep requires_grad (they are only '
        'left out of the optimizer), so their gradients are computed')
    parser.add_argument(
        '--matmul-size',
        type=int,
        help='side of the square reference matmul, measured once per round '
        'and autocast dtype, whose rate is the denominator of the "%% of '
        'matmul" column (default: 8192 on a GPU, 2048 on the CPU, halved '
        'there while one product would take over a CPU-second, e.g. '
        'bfloat16 without AVX512-BF16; chosen in the first round and kept, '
        'the JSON gives the side used)')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--plot', help='write a PNG comparing the modes')
    add_cfg_options(parser)
    # Internal: one mode in this process.
    parser.add_argument(
        '--worker', choices=list(MODES), help=argparse.SUPPRESS)
    parser.add_argument(
        '--worker-amp', choices=list(AMP_DTYPES), help=argparse.SUPPRESS)
    parser.add_argument('--worker-out', help=argparse.SUPPRESS)
    return parser


#: The least value of each option of the benchmark that counts something,
#: and why where it is not plain (``gpu_check.sh``'s speed options, which
#: it hands to ``benchmark_train.py``, are checked against the same table
#: by :func:`check_counts`).
LEAST_VALUES = dict(
    batch_size=(2, BATCH_SIZE_REASON),
    iters=(1, None),
    warmup=(0, None),
    repeat=(1, None),
    num_frames=(1, None),
    threads=(1, None),
    matmul_size=(1, None))


def count_problem(
        args: argparse.Namespace,
        least_values: Dict[str, Tuple[int, Optional[str]]]) -> Optional[str]:
    """``'--OPTION must be >= LEAST, got VALUE'`` (and why, where the table
    says) for the first option of ``least_values`` below its least value,
    or None: the wording of every benchmark tool's count refusal. An
    option the namespace does not have, or one not given (None), is
    skipped; an option of several values (``--tasks 1 0``) is checked
    value by value.

    Args:
        args (argparse.Namespace): A tool's options.
        least_values (dict): ``{dest: (least, why or None)}``, as
            :data:`LEAST_VALUES`.
    """
    for name, (least, why) in least_values.items():
        given = getattr(args, name, None)
        for value in given if isinstance(given, list) else [given]:
            if value is not None and value < least:
                return (f'--{name.replace("_", "-")} must be >= {least}, '
                        f'got {value}' + (f': {why}' if why else ''))
    return None


def check_counts(parser: argparse.ArgumentParser,
                 args: argparse.Namespace,
                 device_defaulted: bool = False) -> None:
    """``parser.error`` (exit status 2) on a count below its
    :data:`LEAST_VALUES` entry, an ``--img-size`` that is not ``H`` or
    ``H W``, or ``--amp fp16`` on the CPU (:func:`amp_problem`); an option
    the parser does not have, or one not given (None), is skipped.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        args (argparse.Namespace): Its options, ``device`` resolved to
            ``'cpu'`` or ``'cuda'`` (``gpu_check.sh``'s ``'auto'`` ends the
            run without a GPU before any check).
        device_defaulted (bool): Whether ``device`` was not given but
            chosen for this machine: the ``--amp`` refusal then says that
            there is no CUDA GPU here. Defaults to False.
    """
    problem = count_problem(args, LEAST_VALUES)
    if problem:
        parser.error(problem)
    img_size = getattr(args, 'img_size', None)
    if img_size is not None and len(img_size) not in (1, 2):
        parser.error(f'--img-size takes H or H W, got {img_size}')
    problem = amp_problem(args.amp or [], args.device)
    if problem and device_defaulted:
        problem += '; no CUDA GPU here, so --device defaults to cpu'
    if problem:
        parser.error(problem)


def amp_problem(amp: List[str], device: str) -> Optional[str]:
    """Why the autocast dtypes ``amp`` (``--amp``) cannot run on
    ``device``, or None.

    Args:
        amp (list[str]): Keys of :data:`AMP_DTYPES`.
        device (str): ``'cpu'``, ``'cuda'`` (or ``'auto'``: not checked).
    """
    if 'fp16' in amp and device == 'cpu':
        return ('--amp fp16 needs --device cuda: float16 autocast with loss '
                'scaling runs on a GPU only (use bf16 on the CPU)')
    return None


def config_batch_size_problem(config: str, batch_size: Any) -> Optional[str]:
    """Why the config's ``train_dataloader.batch_size``, the batch of a
    run without ``--batch-size``, cannot be measured, or None.

    Args:
        config (str): The config file, for the message.
        batch_size: The config's value, None where it has none.
    """
    if batch_size is None:
        told = 'has no train_dataloader.batch_size to take the batch size from'
    elif not isinstance(batch_size, int) or isinstance(batch_size, bool):
        told = f'has train_dataloader.batch_size = {batch_size!r}, not an int'
    elif batch_size < LEAST_VALUES['batch_size'][0]:
        told = (f'trains in batches of {batch_size} '
                '(train_dataloader.batch_size)')
    else:
        return None
    return (f'{config} {told}; give --batch-size '
            f'{LEAST_VALUES["batch_size"][0]} or more: {BATCH_SIZE_REASON}')


def parse_peak_tflops(parser: argparse.ArgumentParser,
                      items: Optional[List[str]]) -> Dict[str, float]:
    """``--peak-tflops AMP=TFLOPS ...`` as a dict, or ``parser.error``
    naming the item that is not one."""
    peaks = {}
    for item in items or []:
        amp, _, value = item.partition('=')
        try:
            peaks[amp] = float(value)
        except ValueError:
            peaks[amp] = 0.
        if amp not in AMP_DTYPES or not peaks[amp] > 0:
            parser.error(f'--peak-tflops takes AMP=TFLOPS with AMP one of '
                         f'{list(AMP_DTYPES)} and TFLOPS > 0, got {item!r}')
    return peaks


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the benchmark's command line and check it.

    ``device`` is resolved here (cuda if available, else cpu), so every
    process of a run agrees on it and a combination that cannot run, such
    as ``--amp fp16`` on a machine without CUDA, is refused at once.

    Args:
        argv (list[str], optional): The arguments, without the program
            name. Defaults to None, i.e. ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: The options; :func:`run_benchmark` and
        :func:`measure_mode` read them. ``peak_tflops`` is a dict from
        autocast dtype to TFLOPS.
    """
    import torch
    parser = build_parser()
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    defaulted = args.device is None
    if defaulted:
        args.device = 'cuda' if cuda else 'cpu'
    elif args.device == 'cuda' and not cuda:
        parser.error('--device cuda, but torch.cuda.is_available() is '
                     'False on this machine')
    args.peak_tflops = parse_peak_tflops(parser, args.peak_tflops)
    check_counts(parser, args, device_defaulted=defaulted)
    if args.out and args.plot and \
            os.path.realpath(args.out) == os.path.realpath(args.plot):
        # The plot would silently replace the JSON.
        parser.error(f'--out and --plot name the same file, {args.out}: '
                     'give the JSON and the PNG a file each')
    if args.worker is None:
        from .cli import refuse_bad_paths
        refuse_bad_paths(parser, args.config, [(args.out, '--out'),
                                               (args.plot, '--plot')],
                         args.cfg_options)
    return args
