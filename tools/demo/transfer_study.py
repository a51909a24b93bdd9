# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The AdaptFormer workflow end to end on a CPU: a small transfer study.

1. Writes two synthetic video tasks in Something-Something v2's on-disk
   format (webm videos + the three JSON files) and turns them into
   annotation lists with tools/data/ssv2/build_file_list.py. Cached.
2. Pre-trains a small VideoMAE-style ViT on task A ('direction', 4 classes)
   by full training, standing in for a published self-supervised
   checkpoint. Cached.
3. Transfers it to task B ('appearance', 2 classes; one frame cannot solve
   it) three ways with the same budget: AdaptFormer (frozen backbone),
   linear probe and full fine-tuning, each with tools/dist_train.sh on
   2 processes (--nproc; they share a 16-clip batch), then evaluates each
   with tools/test.py (2 clips x 3 crops).
4. Prints a table (method, top-1, trainable parameters, checkpoint size,
   training time) and writes a PNG of validation accuracy per epoch (one
   clip per video) with the final test top-1 of the table (2 clips x 3
   crops) marked at the last epoch.

The training runs are processes of their own, as a user starts them; the
SSv2 tool and tools/test.py run in this process (their ``main``), which has
already imported what they import.

Usage:
    python tools/demo/transfer_study.py [--work-dir work_dirs/demo]
        [--data-root data/demo] [--seed 0] [--nproc 2] [--quick]
        [--methods AdaptFormer 'Linear probe' 'Full fine-tune'] [--amp]
"""
import argparse
import glob
import json
import os
import os.path as osp
import pickle
import time

from mmadaptformer.utils.tool_runner import ToolRunner, ffmpeg_tag_warnings_to

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# This checkout's tools: ``run`` starts one as a process of its own,
# ``run_here`` runs its ``main`` in this process.
TOOLS = ToolRunner(REPO, module_prefix='transfer_study_')
run, run_here = TOOLS.run, TOOLS.run_here
DEMO_CONFIGS = osp.join(REPO, 'configs', 'demo')
STAGE1_CONFIG = osp.join(DEMO_CONFIGS, 'vit-tiny_direction_pretrain.py')
METHODS = (
    ('AdaptFormer', 'vit-tiny_appearance_adaptformer.py'),
    ('Linear probe', 'vit-tiny_appearance_linear-probe.py'),
    ('Full fine-tune', 'vit-tiny_appearance_full-finetune.py'),
)
# (train, val) videos per task, epochs of stage 1 and stage 2.
SIZES = dict(
    full=dict(
        direction=(256, 64), appearance=(128, 128), stage1=30, stage2=20),
    quick=dict(
        direction=(128, 32), appearance=(128, 64), stage1=24, stage2=20))
DATA_VERSION = 1
# Clips per training step over all processes, as the demo configs' learning
# rates assume (2 processes x 8 clips); --nproc splits it.
GLOBAL_BATCH = 16


def build_parser():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        '--work-dir',
        default='work_dirs/demo',
        help='where the runs, results.json and the plot go')
    parser.add_argument(
        '--data-root',
        default='data/demo',
        help='where the two synthetic tasks are written (reused when '
        'present)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='training seed (the data is always seed 0)')
    parser.add_argument(
        '--nproc',
        type=int,
        default=2,
        help='processes per training run (dist_train.sh); each trains on '
        f'{GLOBAL_BATCH} / NPROC clips a step, so the recipe stays the same')
    parser.add_argument(
        '--port',
        type=int,
        default=29560,
        help='torchrun master port of the training runs (PORT of '
        'dist_train.sh); change it to run two studies at once')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='fewer videos and epochs (for tests)')
    parser.add_argument(
        '--methods',
        nargs='+',
        default=[m[0] for m in METHODS],
        choices=[m[0] for m in METHODS],
        metavar='METHOD',
        help='which transfer methods to run: ' +
        ', '.join(repr(m[0]) for m in METHODS))
    parser.add_argument(
        '--amp',
        action='store_true',
        help='train stage 2 with tools/train.py --amp '
        '(bfloat16 autocast on the CPU); results go to '
        'seed<N>_amp')
    return parser


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.nproc < 1 or GLOBAL_BATCH % args.nproc:
        parser.error(f'--nproc must divide the global batch of {GLOBAL_BATCH} '
                     f'clips (1, 2, 4, 8 or 16), got {args.nproc}')
    return args


class Progress:
    """Prints what runs, with the time since the start."""

    def __init__(self):
        self.start = time.time()

    def __call__(self, message):
        print(f'[{time.time() - self.start:6.1f}s] {message}', flush=True)


def prepare_data(args, sizes, progress):
    """Write both tasks in SSv2 format and build their lists, once."""
    from mmadaptformer.datasets.synthetic_ssv2 import (SYNTHETIC_TASKS,
                                                       make_synthetic_ssv2)
    roots = {}
    first_id = 1
    for task in ('direction', 'appearance'):
        root = osp.join(args.data_root, task)
        roots[task] = root
        num_train, num_val = sizes[task]
        stamp = osp.join(root, 'dataset.json')
        wanted = dict(version=DATA_VERSION, train=num_train, val=num_val)
        if osp.isfile(stamp) and json.load(open(stamp)) == wanted:
            progress(f'data: reusing {root}')
        else:
            progress(f'data: writing {num_train} + {num_val} {task!r} '
                     f'videos (SSv2 format) to {root}')
            os.makedirs(root, exist_ok=True)
            with ffmpeg_tag_warnings_to(osp.join(root, 'write_videos.log')):
                make_synthetic_ssv2(
                    root, task, num_train, num_val, seed=0, first_id=first_id)
            run_here('data/ssv2/build_file_list.py', [
                osp.join(root, 'annotations'), root, '--check-videos',
                '--num-classes',
                len(SYNTHETIC_TASKS[task])
            ], osp.join(root, 'build_file_list.log'))
            with open(stamp, 'w') as f:
                json.dump(wanted, f)
        first_id += sum(sizes[task])
    return roots


def data_options(root):
    opts = []
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'val'), ('test_dataloader',
                                                      'val')):
        opts += [
            f'{loader}.dataset.ann_file='
            f'{osp.abspath(root)}/sthv2_{split}_list_videos.txt',
            f'{loader}.dataset.data_prefix.video={osp.abspath(root)}/videos'
        ]
    return opts


def train(config,
          work_dir,
          options,
          args,
          log_name,
          amp=False,
          pretrained=None):
    os.makedirs(work_dir, exist_ok=True)
    cmd = [
        'bash',
        osp.join(REPO, 'tools', 'dist_train.sh'), config,
        str(args.nproc), '--work-dir', work_dir, '--seed',
        str(args.seed), '--deterministic'
    ]
    if amp:
        cmd.append('--amp')
    if pretrained:
        cmd += ['--pretrained', pretrained]
    cmd += ['--cfg-options'] + options + [
        f'train_dataloader.batch_size={GLOBAL_BATCH // args.nproc}'
    ]
    return run(
        cmd, osp.join(work_dir, log_name), env=dict(PORT=str(args.port)))


def val_curve(work_dir):
    """Validation top-1 per epoch from the run's scalars.json."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    curve = {}
    for line in open(files[-1]):
        record = json.loads(line)
        if 'acc/top1' in record:
            curve[int(record['step'])] = record['acc/top1']
    return [curve[e] for e in sorted(curve)]


def test(config, checkpoint, work_dir, options, pretrained):
    dump = osp.join(work_dir, 'test_predictions.pkl')
    run_here('test.py', [
        config, checkpoint, '--work-dir',
        osp.join(work_dir, 'test'), '--dump', dump, '--pretrained', pretrained,
        '--cfg-options'
    ] + options, osp.join(work_dir, 'test.log'))
    with open(dump, 'rb') as f:
        predictions = pickle.load(f)
    correct = [
        int(p['pred_score'].argmax()) == int(p['gt_label'])
        for p in predictions
    ]
    return 100.0 * sum(correct) / len(correct), len(correct)


def trainable_parameters(config):
    """Trainable and total parameters, decided as training decides."""
    from mmengine.config import Config
    from mmengine.logging import MMLogger

    from mmadaptformer.engine import adapter_hook_cfg, build_model_and_plan

    # A logger of its own becomes MMEngine's current one: warnings only, and
    # not into the log file of the last run tools/test.py made here (building
    # the model logs each tensor's initialisation).
    MMLogger.get_instance(
        f'transfer_study_count_{time.time_ns()}', log_level='WARNING')
    cfg = Config.fromfile(config)
    backbone = cfg.model.backbone
    inner = backbone.backbone if 'backbone' in backbone else backbone
    inner.init_cfg = None  # counting needs no weights
    if adapter_hook_cfg(cfg) is None:
        from mmengine.registry import MODELS, init_default_scope
        init_default_scope(cfg.default_scope)
        model = MODELS.build(cfg.model)
        total = sum(p.numel() for p in model.parameters())
        return total, total
    model, plan = build_model_and_plan(cfg)
    total = sum(p.numel() for p in model.parameters())
    return plan.count(plan.trainable_keys), total


def make_figure(results):
    """Validation top-1 per epoch (one clip per video, as validation runs)
    and, at the last epoch, the test top-1 of the table (2 clips x 3 crops
    averaged), which differs from the last validation point for that
    reason."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for r in results:
        epochs = range(1, len(r['val_curve']) + 1)
        line, = ax.plot(
            epochs, [100 * v for v in r['val_curve']],
            marker='o',
            markersize=3,
            label=f'{r["method"]}: validation, 1 clip')
        ax.plot([len(r['val_curve'])], [r['top1']],
                marker='*',
                markersize=11,
                linestyle='none',
                color=line.get_color(),
                label=f'{r["method"]}: test, 2 clips x 3 crops '
                f'({r["top1"]:.1f}%)')
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel('epoch')
    ax.set_ylabel('top-1 (%)')
    ax.set_title("Transfer to 'appearance' (frozen backbone vs. full)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize='small')
    fig.tight_layout()
    return fig


def plot(results, path):
    import matplotlib.pyplot as plt
    fig = make_figure(results)
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    progress = Progress()
    sizes = SIZES['quick' if args.quick else 'full']
    os.makedirs(args.work_dir, exist_ok=True)
    roots = prepare_data(args, sizes, progress)

    stage1_dir = osp.abspath(osp.join(args.work_dir, 'stage1'))
    stage1_ckpt = osp.join(stage1_dir, f'epoch_{sizes["stage1"]}.pth')
    if osp.isfile(stage1_ckpt):
        progress(f'stage 1: reusing {stage1_ckpt}')
    else:
        progress(f'stage 1: pre-training on {roots["direction"]!r} by full '
                 f'training, {sizes["stage1"]} epochs, {args.nproc} '
                 f'processes (tools/dist_train.sh)')
        seconds = train(
            STAGE1_CONFIG, stage1_dir,
            data_options(roots['direction']) +
            [f'train_cfg.max_epochs={sizes["stage1"]}'] +
            _schedule_options(sizes['stage1'], warmup=1), args, 'train.log')
        acc = val_curve(stage1_dir)[-1]
        progress(f'stage 1: done in {seconds:.0f}s, validation top-1 on '
                 f'direction {100 * acc:.1f}%')

    results = []
    out = osp.join(args.work_dir,
                   f'seed{args.seed}' + ('_amp' if args.amp else ''))
    for method, config_name in METHODS:
        if method not in args.methods:
            continue
        config = osp.join(DEMO_CONFIGS, config_name)
        work = osp.abspath(osp.join(out, config_name[:-3].split('_')[-1]))
        options = data_options(roots['appearance']) + [
            f'train_cfg.max_epochs={sizes["stage2"]}'
        ] + _schedule_options(
            sizes['stage2'], warmup=2)
        progress(f'stage 2: {method} on {roots["appearance"]!r}, '
                 f'{sizes["stage2"]} epochs ...')
        seconds = train(
            config,
            work,
            options,
            args,
            'train.log',
            amp=args.amp,
            pretrained=stage1_ckpt)
        checkpoint = osp.join(work, f'epoch_{sizes["stage2"]}.pth')
        top1, n = test(config, checkpoint, work, options, stage1_ckpt)
        trainable, total = trainable_parameters(config)
        results.append(
            dict(
                method=method,
                top1=top1,
                num_test_videos=n,
                trainable=trainable,
                total=total,
                checkpoint_mb=osp.getsize(checkpoint) / 2**20,
                train_seconds=seconds,
                val_curve=val_curve(work)))
        progress(f'stage 2: {method}: top-1 {top1:.1f}% ({n} videos, '
                 f'2 clips x 3 crops), trained in {seconds:.0f}s')

    lines = [
        '',
        f'Transfer to \'appearance\' (seed {args.seed}, {args.nproc} '
        f'processes, ' + ('bfloat16 autocast training, ' if args.amp else '') +
        'test: 2 clips x 3 crops)',
        f'{"method":<16}{"top-1 (%)":>10}{"trainable":>12}{"share":>8}'
        f'{"ckpt (MB)":>11}{"train (s)":>11}',
    ]
    for r in results:
        lines.append(
            f'{r["method"]:<16}{r["top1"]:>10.1f}{r["trainable"]:>12,}'
            f'{100 * r["trainable"] / r["total"]:>7.1f}%'
            f'{r["checkpoint_mb"]:>11.2f}{r["train_seconds"]:>11.0f}')
    print('\n'.join(lines), flush=True)
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    plot(results, osp.join(out, 'val_accuracy.png'))
    progress(f'wrote {out}/results.json and {out}/val_accuracy.png')
    return results


def _schedule_options(epochs, warmup):
    return [
        f'param_scheduler.0.end={warmup}', f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={epochs}',
        f'param_scheduler.1.T_max={epochs - warmup}'
    ]


if __name__ == '__main__':
    main()
