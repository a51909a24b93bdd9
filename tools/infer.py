# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Classify videos or images with trained models.

One model::

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] --out r.json \\
        [--pretrained BACKBONE.pth]

Many tasks on one frozen backbone (adapter-only, merged or full checkpoints
of AdaptFormer models trained on the same backbone)::

    python tools/infer.py --task NAME CONFIG CHECKPOINT \\
        [--task NAME CONFIG CHECKPOINT ...] INPUT [INPUT ...] --out r.json
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import Config

import mmadaptformer  # noqa: F401  (registers modules, closes gaps)
from mmadaptformer.apis import (RESERVED_NAME, LabelMapError, ModelInferencer,
                                MultiTaskRecognizer, TaskError,
                                check_task_name, collect_inputs)
from mmadaptformer.engine import refusal_line
from mmadaptformer.models import own_loading_hint_of_cfg
from mmadaptformer.utils import set_pretrained_backbone

EPILOG = """\
INPUT is a video or image file, or a folder (searched recursively for video
and image files). Each input is transformed by the config's test pipeline
(test_dataloader.dataset.pipeline, views included), so it gets the scores
tools/test.py --dump gives it.

The JSON maps each input to {TASK: {"label": int, "class": str or null,
"scores": [float, ...]}}; TASK is the config file's stem, or the --task
name. An input that cannot be classified gets {"error": "..."} (or
{TASK: {"error": "..."}} where only some tasks failed), a task that cannot
be loaded gets {TASK: {"error": "..."}} in every input (printed once, as
"task TASK: ERROR ..." on stderr), and the others are still answered.

Exit status: 0 if every input was answered by every task, 1 if any input or
task failed, 2 on bad arguments.
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
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
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--device', default='cpu', help='cpu or cuda (default: cpu)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='inputs per forward (default: 1)')
    parser.add_argument(
        '--label-map',
        help='class names file, the class of label i on line i + 1 '
        '(default: the classes saved in the checkpoint\'s meta, else from '
        'the config or the label map next to its ann_file); one model only')
    parser.add_argument(
        '--topk',
        type=int,
        default=3,
        help='how many classes to print per input and task (default: 3)')
    args = parser.parse_intermixed_args(argv)
    if args.task:
        if args.label_map:
            parser.error('--label-map is for one model; with --task the '
                         'class names come from each checkpoint or config.')
        args.inputs = args.args
    else:
        if len(args.args) < 3:
            parser.error('give CONFIG CHECKPOINT INPUT [INPUT ...], or '
                         '--task NAME CONFIG CHECKPOINT ... INPUT ...')
        args.config, args.checkpoint = args.args[:2]
        args.inputs = args.args[2:]
    if not args.inputs:
        parser.error('no INPUT given')
    seen = {}
    for name, config, _ in args.task or []:
        try:
            check_task_name(name, seen)
        except TaskError as e:
            parser.error(f'--task {name} {config}: {e}')
        seen[name] = config
    if not args.task and ModelInferencer.default_name(
            args.config) == RESERVED_NAME:
        parser.error(f'{args.config}: the results name the model after the '
                     f'config file, and {RESERVED_NAME!r} is their error key; '
                     'rename the file or give --task NAME CONFIG CHECKPOINT')
    configs = [t[1] for t in args.task] if args.task else [args.config]
    for path, what in [(c, 'config')
                       for c in configs] + [(args.label_map, '--label-map')]:
        if path is not None and not osp.isfile(path):
            parser.error(f'{what} {path}: no such file')
    if args.out is not None and osp.isdir(args.out):
        parser.error(f'--out {args.out} is a folder; give the JSON file to '
                     'write')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def _top(answer: dict, k: int) -> str:
    if 'error' in answer:
        return f'ERROR {answer["error"]}'
    scores = answer['scores']
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
    names = answer.get('names')
    parts = []
    for i in order:
        name = names[i] if names and i < len(names) else str(i)
        parts.append(f'{name} ({scores[i]:.4f})')
    return ', '.join(parts)


def _config(path: str, pretrained):
    """The config at ``path``, with ``--pretrained`` as its backbone's
    weights if given."""
    if pretrained is None:
        return path
    cfg = Config.fromfile(path)
    set_pretrained_backbone(
        cfg, pretrained, own_loading_hint=own_loading_hint_of_cfg)
    return cfg


def _load(args):
    """The engine and the errors of tasks that could not be loaded."""
    progress = True
    failed = {}
    if not args.task:
        name = ModelInferencer.default_name(args.config)
        try:
            engine = ModelInferencer(
                _config(args.config, args.pretrained),
                args.checkpoint,
                device=args.device,
                label_map=args.label_map,
                name=name)
        except LabelMapError as e:
            # The file the user gave, not the checkpoint, and not once per
            # input.
            raise SystemExit(f'--label-map {e}') from None
        except Exception as e:
            engine = None
            failed[name] = f'{args.checkpoint}: {refusal_line(e)}'
        return engine, failed, progress
    engine = MultiTaskRecognizer(device=args.device)
    for name, config, checkpoint in args.task:
        try:
            engine.add_task(name, _config(config, args.pretrained), checkpoint)
        except Exception as e:
            failed[name] = refusal_line(e)
    return (engine if engine.tasks else None), failed, progress


def main(argv=None) -> int:
    args = parse_args(argv)
    engine, failed, progress = _load(args)
    for name, message in failed.items():
        print(f'task {name}: ERROR {message}', file=sys.stderr)
    if engine is not None:
        results = engine(
            args.inputs, batch_size=args.batch_size, progress=progress)
    else:
        results = {path: {} for path in collect_inputs(args.inputs)}
    classes = {}
    if isinstance(engine, ModelInferencer):
        classes[engine.name] = engine.classes
    elif engine is not None:
        classes = {name: engine.classes_of(name) for name in engine.tasks}
    ok = not failed
    for path, answers in results.items():
        if 'error' not in answers:
            for name, message in failed.items():
                answers[name] = dict(error=message)
        if 'error' in answers:
            ok = False
            print(f'{path}: ERROR {answers["error"]}')
            continue
        for name, answer in answers.items():
            if name in failed:
                # Said once above; the JSON keeps it in every input.
                continue
            ok &= 'error' not in answer
            shown = dict(answer, names=classes.get(name))
            print(f'{path}: {name}: {_top(shown, args.topk)}')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
            f.write('\n')
        print(f'Results of {len(results)} inputs written to {args.out}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
