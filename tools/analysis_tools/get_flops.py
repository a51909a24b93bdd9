# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Count a config's parameters (trainable as the config trains, and total)
and the FLOPs of one view.

Usage:
    python tools/analysis_tools/get_flops.py CONFIG [--shape ...] [--json OUT]
        [--cfg-options KEY=VALUE ...]

``--cfg-options`` changes the config as in the other tools (e.g.
``model.backbone.adapter.bottleneck=16`` or the test pipeline's
``clip_len``) before anything is counted. The shape defaults to one view
as the config's test pipeline feeds it, without the batch (as ``--shape``
takes it and the output prints it): ``3 T H W`` for video configs,
``3 H W`` for image configs; a batch of 1 is counted. No
pretrained weights are needed. Trainable parameters follow the config's
AdapterHook (adapters + head + extras, or the head for linear probing);
without the hook every parameter trains (full fine-tuning).

FLOPs are counted with :func:`mmadaptformer.utils.count_flops`
(``torch.utils.flop_counter``: matmuls, convolutions and attention, fused
attention included; a multiply-add is 2 FLOPs). MMEngine's counter, which
OpenMMLab's model zoos use, counts a multiply-add as 1 and misses
``scaled_dot_product_attention``; MACs (FLOPs / 2) are printed for
comparison with those tables. Both use the unit that fits (T, G, M, K).
"""
import argparse
import copy

import torch
from mmengine.registry import MODELS, init_default_scope

import mmadaptformer  # noqa: F401
from mmadaptformer.apis import test_pipeline_cfg
from mmadaptformer.benchmark import (count_problem, input_size_problem,
                                     input_spec)
from mmadaptformer.benchmark.cli import (load_model_config, refuse_bad_paths,
                                         write_json)
from mmadaptformer.engine import adapter_hook_cfg, refusals_exit
from mmadaptformer.engine.plan_argument_place import naming_plan_arguments
from mmadaptformer.models import plan_trainable
from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils import count_flops
from mmadaptformer.utils.cfg_options import add_cfg_options
from mmadaptformer.utils.closed_pipe import exit_quietly_on_closed_pipe
from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.log_streams import results_only_stdout


def build_parser():
    parser = argparse.ArgumentParser(
        prog='get_flops.py',
        description='Parameters (trainable/total) and FLOPs of a config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='input shape without the batch, e.g. 3 8 224 224 (video) or '
        '3 224 224 (image); default: from the config')
    parser.add_argument('--json', help='also write the numbers to this file')
    add_cfg_options(parser)
    return parser


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    # In the words of the benchmark tools' count refusals.
    problem = count_problem(args, dict(shape=(1, None)))
    if problem:
        parser.error(problem)
    refuse_bad_paths(parser, args.config, [(args.json, '--json')],
                     args.cfg_options)
    return args


def default_shape(cfg):
    """One view as the config's test pipeline feeds it
    (``test_dataloader.dataset.pipeline``, else ``test_pipeline``): the
    frames of its ``SampleFrames`` and the size of its last crop, else the
    backbone's ``img_size``.

    Raises:
        ValueError: If neither gives the size.
    """
    try:
        pipeline = test_pipeline_cfg(cfg)
    except ConfigError:  # none: the backbone's img_size may still tell
        pipeline = []
    crops = [t['crop_size'] for t in pipeline if t.get('crop_size')]
    size = crops[-1] if crops else None
    if size is None:
        backbone = cfg.model.get('backbone') or {}
        size = (backbone.get('backbone') or backbone).get('img_size')
    if size is None:
        raise ValueError('neither the test pipeline (a crop_size) nor the '
                         'backbone (img_size) gives the input size; give '
                         '--shape')
    # A crop_size pair is (w, h), as both toolboxes' crops take it.
    h, w = (size, size) if isinstance(size, int) else (size[1], size[0])
    if cfg.default_scope == 'mmaction':
        sample = next((t for t in pipeline if t['type'] == 'SampleFrames'),
                      None)
        if sample is None:
            raise ValueError('no SampleFrames in a test pipeline gives the '
                             'frames; give --shape')
        return (3, sample['clip_len'], h, w)
    return (3, h, w)


def model_stats(cfg, shape=None):
    """Trainable and total parameters and FLOPs of one view.

    Args:
        cfg (Config): A model config.
        shape (tuple, optional): Input shape without the batch.

    Returns:
        dict: ``trainable``, ``total``, ``flops`` (a multiply-add is 2) and
        ``shape``.

    A ``model.backbone`` that is not a backbone config is refused before,
    by :func:`check_model_config`.
    """
    model_cfg = copy.deepcopy(cfg.model)
    backbone = model_cfg.backbone
    inner = backbone.backbone if 'backbone' in backbone else backbone
    inner.init_cfg = None  # counting needs no weights
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(model_cfg)
    model.eval()
    total = sum(p.numel() for p in model.parameters())
    hook = adapter_hook_cfg(cfg)
    if hook is None:
        trainable = total
    else:
        plan = plan_trainable(
            model,
            mode=hook.get('mode', 'adaptformer'),
            head=hook.get('head', ('cls_head', 'head')),
            extra_trainable=hook.get('extra_trainable', ()))
        trainable = plan.count(plan.trainable_keys)
    shape = tuple(shape or default_shape(cfg))
    # mmaction2's recognizers take (batch, views, C, T, H, W).
    video = cfg.get('default_scope', 'mmaction') == 'mmaction'
    inputs = torch.zeros(((1, 1) if video else (1, )) + shape)
    # Inference only. Parameters that need no gradient also keep PyTorch's
    # module tracker from hooking a parameter used as a module's input
    # (VPT's prompts), which fails under no_grad.
    model.requires_grad_(False)
    flops = count_flops(lambda: model(inputs, mode='tensor'))
    return dict(trainable=trainable, total=total, flops=flops, shape=shape)


def format_count(value, unit):
    """``value`` with the largest prefix (T, G, M, K) that keeps it at 1 or
    more, e.g. ``format_count(5.4e6, 'FLOPs')`` -> ``'5.40 MFLOPs'``."""
    for prefix, scale in (('T', 1e12), ('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(value) >= scale:
            return f'{value / scale:.2f} {prefix}{unit}'
    return f'{value:.0f} {unit}'


def main(argv=None):
    return exit_quietly_on_closed_pipe(lambda: _main(argv))


def _main(argv):
    args = parse_args(argv)
    parser = build_parser()
    cfg = load_model_config(parser, args.config, args.cfg_options)
    dims = 4 if cfg.get('default_scope') == 'mmaction' else 3
    if args.shape is not None and len(args.shape) != dims:
        kind = 'a video' if dims == 4 else 'an image'
        parser.error(f'--shape {" ".join(map(str, args.shape))}: {kind} '
                     f'config takes {dims} numbers (C T H W for video, C H W '
                     'for images)')
    if args.shape is not None:
        # Else the patch embedding's conv fails with a traceback.
        size = argparse.Namespace(
            img_size=args.shape[-2:],
            num_frames=args.shape[1] if dims == 4 else None,
            batch_size=None)
        problem = input_size_problem(
            cfg,
            input_spec(cfg, size, dict(size='--shape', frames='--shape')),
            size_advice='give a --shape whose H and W are at least the '
            'patch size',
            frames_advice='give a --shape whose T is at least the tubelet '
            'size')
        if problem:
            parser.error(f'{args.config}: {problem}')
    try:
        # A mistake of the config (a type no registry holds, an argument a
        # class does not take or mmaction2's ViT would drop, the wrapper's
        # own refusals; from --cfg-options too) ends with the one line
        # naming the file or option and the key, exit status 1, as
        # train.py and test.py end. It was a usage error (exit status 2).
        # MMEngine's build messages (one per adapted block) go to stderr,
        # not between the counts (get_flops.py CONFIG > flops.txt).
        with results_only_stdout(), refusals_exit(), naming_config_mistakes(
                cfg, args.config, args.cfg_options), naming_plan_arguments(
                    cfg, args.config, args.cfg_options):
            check_model_config(
                cfg, args.config, args.cfg_options, pretrained=False)
            stats = model_stats(cfg, args.shape)
    except ValueError as e:  # not a ConfigError: the shape is not known
        parser.error(f'config {args.config}: {e}')
    print(f'config: {args.config}\n'
          f'input shape (one view): {stats["shape"]}\n'
          f'parameters: {stats["trainable"]:,} trainable of '
          f'{stats["total"]:,} '
          f'({100.0 * stats["trainable"] / stats["total"]:.2f}%)\n'
          f'FLOPs (one view): {format_count(stats["flops"], "FLOPs")} '
          f'({format_count(stats["flops"] / 2, "MACs")})')
    if args.json:
        write_json(dict(stats, config=args.config), args.json)
    return stats


if __name__ == '__main__':
    main()
