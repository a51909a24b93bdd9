# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Test (and evaluate) a model: the same command line as MMAction2's and
MMPretrain's ``tools/test.py``, for video and image configs alike.

``import mmadaptformer`` runs first (see ``tools/train.py``), and on a machine
without a GPU ``--launcher pytorch`` (``dist_test.sh``) tests with CPU DDP.
The run's config goes next to its log, ``work_dir/<timestamp>/<config file
name>``: the work dir's copy stays the training run's, which records its
``--pretrained`` (see :class:`~mmadaptformer.engine.ConfigCopyRunner`).

Flags: MMAction2's (``--dump``, ``--show-dir``, ``--show``, ``--interval``,
``--wait-time``) and MMPretrain's (``--out``, ``--out-item``, ``--amp``,
``--tta``, ``--no-pin-memory``) with their toolbox's meaning, plus
``--pretrained`` (the frozen backbone's weights, as in ``tools/train.py``).
``--show``/``--show-dir`` enable the config's ``default_hooks.visualization``
(after ``--cfg-options``); video configs name
:class:`~mmadaptformer.engine.hooks.VideoVisualizationHook`, which draws the
first view of each test video.
"""
import os.path as osp
from copy import deepcopy
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.fileio.io import file_handlers
from mmengine.logging import print_log

import mmadaptformer  # noqa: F401  (registers modules, closes gaps)
from mmadaptformer.engine import (add_work_dir_collect_hook, build_runner,
                                  refusals_exit)
from mmadaptformer.engine.head_classes_check import check_head_classes
from mmadaptformer.engine.hooks.adapter_hook_config_check import \
    check_adapter_hook_config
from mmadaptformer.engine.run_stop import TestStage, end_on_ctrl_c
from mmadaptformer.engine.testing_config import (add_dump_metrics, add_tta,
                                                 trigger_visualization_hook)
from mmadaptformer.engine.train_loop_check import check_loop_keys
from mmadaptformer.models import pretrained_names_of_cfg, set_host_pretrained
from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils import (ConfigError, positive_int, run_and_finish,
                                 setup_cpu_distributed)
from mmadaptformer.utils.adapter_only_fit import is_adapter_only_file
from mmadaptformer.utils.atomic_dump import atomic_dump, plain_values
from mmadaptformer.utils.backbone_check import check_pretrained_files
from mmadaptformer.utils.cfg_options import add_cfg_options
from mmadaptformer.utils.cfg_options_merge import (CfgOptionsError,
                                                   merge_cfg_options)
from mmadaptformer.utils.cli_types import (ToolArgumentParser,
                                           add_launcher_argument,
                                           read_config_arg, refuse_input_files)
from mmadaptformer.utils.config_inputs import config_file_problem
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.dataloader_check import check_dataloaders
from mmadaptformer.utils.dist import launcher_env_problem, set_local_rank
from mmadaptformer.utils.early_datasets import read_datasets
from mmadaptformer.utils.first_samples import check_first_samples
from mmadaptformer.utils.kept_delete import TESTING_KEYS, refuse_kept_delete
from mmadaptformer.utils.launcher_parent import end_with_launcher
from mmadaptformer.utils.local_files import home_expanded
from mmadaptformer.utils.output_file import output_file_problem
from mmadaptformer.utils.runner_check import check_runner_config
from mmadaptformer.utils.test_time_aug import check_test_time_aug
from mmadaptformer.utils.tool_loader_defaults import \
    add_mmpretrain_loader_defaults
from mmadaptformer.utils.work_dir_check import (refuse_two_work_dirs,
                                                refuse_work_dir)


def _parser() -> ToolArgumentParser:
    parser = ToolArgumentParser(
        description='Test (and eval) a video or image model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--pretrained',
        metavar='CHECKPOINT',
        help='pretrained weights of the (frozen) backbone, for checkpoints '
        'that hold only the adapters and head: sets the stock backbone\'s '
        'init_cfg (model.backbone.backbone.init_cfg for AdaptFormer/VPT, '
        'model.backbone.init_cfg otherwise) to Pretrained with the prefix '
        'the file needs. Accepts convert_official.py output, MMEngine '
        'checkpoints and bare backbone state dicts.')
    parser.add_argument(
        '--dump',
        type=str,
        help='(MMAction2) dump predictions to a pickle file for offline '
        'evaluation')
    parser.add_argument(
        '--out',
        help='(MMPretrain) the file to output results: predictions (a .pkl '
        'file) or, with --out-item metrics, the metrics (.json, .yaml or '
        '.pkl).')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='(MMPretrain) whether --out gets the metrics or the '
        'predictions. Defaults to the predictions.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='(MMPretrain) test with automatic mixed precision '
        '(test_cfg.fp16; float16 on a GPU, bfloat16 on the CPU).')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='(MMPretrain) test-time augmentation: the config\'s '
        '`tta_model` and `tta_pipeline` if it has them; otherwise image '
        'configs average the scores of the image and its horizontal flip. '
        'Video configs need both fields in the config: their test pipeline '
        'already averages several clips x crops, and MMAction2 has no '
        'default TTA model.')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='(MMPretrain) disable the pin_memory option of the test '
        'dataloader.')
    add_cfg_options(parser)
    parser.add_argument(
        '--show-dir',
        help='directory where the visualization images will be saved.')
    parser.add_argument(
        '--show',
        action='store_true',
        help='whether to display the prediction results in a window.')
    parser.add_argument(
        '--interval',
        type=positive_int,
        default=1,
        help='visualize per interval samples.')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='display time of every window. (second)')
    add_launcher_argument(parser, 'test')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_args(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    # train.py merged --cfg-options after --work-dir, test.py before: two
    # folders would each take another, silently.
    refuse_two_work_dirs(parser, args.work_dir, args.cfg_options)
    # The shell leaves `~` as it is when quoted or after `--option=`.
    # MMEngine's CheckpointLoader expands it in the checkpoints; the files
    # and folders written would otherwise go to a folder named `~` in the
    # working directory (the work dir is expanded in merge_args, whoever
    # set it). The config is read as written (Config.fromfile).
    for name in ('checkpoint', 'pretrained', 'dump', 'out', 'show_dir'):
        setattr(args, name, home_expanded(getattr(args, name)))
    if args.out is None and args.out_item is not None:
        parser.error('--out-item needs --out, the file to write.')
    if args.out is not None and args.out_item != 'metrics' and \
            not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out {args.out!r}: predictions are written as a '
                     'pickle; name a .pkl or .pickle file (or add '
                     '--out-item metrics).')
    if args.dump is not None and not args.dump.endswith(('.pkl', '.pickle')):
        parser.error(
            f'--dump must name a .pkl or .pickle file, got {args.dump!r}')
    inputs = [(args.config, 'config'), (args.checkpoint, 'checkpoint'),
              (args.pretrained, '--pretrained')]
    for flag, out in (('--out', args.out), ('--dump', args.dump)):
        problem = output_file_problem(out, flag, inputs) if out else None
        if problem:
            parser.error(problem)
    if args.out is not None and args.out_item == 'metrics' and \
            args.out.split('.')[-1] not in file_handlers:
        # mmengine.dump tells the format by the same rule, after the test.
        formats = ', '.join(f'.{ext}' for ext in sorted(file_handlers))
        parser.error(f'--out {args.out!r} with --out-item metrics: the '
                     f'metrics are written as {formats} (by the file\'s '
                     'extension); name a file with one of them.')
    set_local_rank(args.launcher, args.local_rank)
    return args


def merge_args(cfg, args):
    """Merge CLI arguments to config."""
    if args.amp:
        cfg.test_cfg.fp16 = True
    # Before --tta wraps the model, and before --cfg-options, which can
    # then refine the new init_cfg.
    if args.pretrained is not None:
        # A plain host that loads its own weights gets what it reads.
        key, value = set_host_pretrained(cfg, args.pretrained)
        print_log(f'--pretrained: {key} = {value}', logger='current')
    if args.tta:
        add_tta(cfg, args.config)

    add_mmpretrain_loader_defaults(
        cfg, ('test_dataloader', ),
        pin_memory=True,
        collate_fn=dict(type='default_collate'))
    if args.no_pin_memory and cfg.get('test_dataloader', None) is not None:
        cfg.test_dataloader.pin_memory = False

    cfg.launcher = args.launcher
    merge_cfg_options(cfg, args.cfg_options)
    # After --cfg-options, as MMPretrain's tool adds its DumpResults to the
    # built evaluator: `test_evaluator.topk=...` then still names the
    # config's evaluator, not a list of it and the dump.
    pred_files = [args.dump] if args.dump is not None else []
    if args.out is not None and args.out_item != 'metrics':
        pred_files.append(args.out)
    add_dump_metrics(cfg, pred_files, args.config, args.cfg_options)
    # After --cfg-options, which may add or replace the hook; the flags
    # then win over its settings, as in MMAction2's and MMPretrain's tool.
    if args.show or (args.show_dir is not None):
        trigger_visualization_hook(
            cfg,
            args.config,
            show=args.show,
            show_dir=args.show_dir,
            wait_time=args.wait_time,
            interval=args.interval,
            tta=args.tta)

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    # --work-dir, a config's or an option's work_dir='~/runs/x': MMEngine
    # would make a folder named ~ in the working directory.
    cfg.work_dir = home_expanded(cfg.work_dir)

    cfg.load_from = args.checkpoint
    # The config copy of a training run resumed with --resume records
    # resume=True: MMEngine's Runner.test would then resume (optimizer,
    # scheduler, the work dir's latest checkpoint) instead of loading the
    # checkpoint given here.
    cfg.resume = False
    return cfg


def refuse_missing_files(args) -> None:
    """End with exit status 2, as for any other mistake of the command line,
    if a file it names is not there or is given in another's place (the
    tools' one order: :func:`~mmadaptformer.utils.cli_types.
    input_files_problem`): the Runner would find a missing checkpoint only
    after making a log folder and building the model."""
    refuse_input_files(_parser(), [(args.config, 'config')],
                       [(args.checkpoint, 'checkpoint'),
                        (args.pretrained, '--pretrained')])


def refuse_config_files(cfg, args) -> None:
    """End with exit status 2 if a ``--cfg-options`` option cannot be
    merged into the config, or if ``--out`` or ``--dump`` is a ``_base_`` of
    the config or a file it names (``ann_file``, ``load_from``...), which
    the results would replace, or the download cache's place (or record)
    for an address it names, which a later load would take for the
    address's file."""
    try:
        cfg = merge_cfg_options(deepcopy(cfg), args.cfg_options)
    except CfgOptionsError as e:
        # A mistake of the command line, as a missing file is: exit 2.
        _parser().error(str(e))
    for flag, out in (('--out', args.out), ('--dump', args.dump)):
        problem = config_file_problem(out, flag, args.config, cfg) if out \
            else None
        if problem:
            _parser().error(problem)


def main(argv=None):
    # Ctrl-C: one line, what it has not written; 130 (see end_on_ctrl_c).
    return end_on_ctrl_c('test.py', lambda stage: _main(argv, stage),
                         TestStage())


def _main(argv, stage: TestStage) -> None:
    args = parse_args(argv)
    stage.outputs = [path for path in (args.out, args.dump) if path]
    refuse_missing_files(args)
    # Before the config is read: a run started without its launcher.
    problem = launcher_env_problem(args.launcher, 'test')
    if problem:
        _parser().error(problem)
    end_with_launcher(args.launcher)
    # Bad input (adapters on another backbone, a damaged checkpoint) ends
    # with its message on one line, not a traceback.
    with refusals_exit():
        run_test(args, stage)


def run_test(args, stage: Optional[TestStage] = None):
    # A config that cannot be read (Python that does not parse, a _base_
    # that is not there) is a mistake of the command line, exit status 2,
    # as in infer.py; one that names a type no registry holds ends later
    # with one line naming the file and the key, exit status 1.
    cfg = read_config_arg(_parser(), args.config)
    refuse_config_files(cfg, args)
    cfg = merge_args(cfg, args)
    refuse_work_dir(_parser(), cfg.work_dir, args.work_dir, args.cfg_options)
    with naming_config_mistakes(cfg, args.config, args.cfg_options):
        start_testing(cfg, args, stage)


def start_testing(cfg, args, stage: Optional[TestStage] = None):
    # A _delete_=True that no base config consumed, in what testing builds
    # (--tta has put tta_model and tta_pipeline there): the TypeError of
    # what was built with it, after the work dir.
    refuse_kept_delete(cfg, args.config, args.cfg_options, TESTING_KEYS)
    # A transform, dataloader or dataset argument that is wrong is named
    # now, not as a traceback from inside the Runner's test loop.
    datasets = check_dataloaders(cfg, args.config, ['test_dataloader'],
                                 args.cfg_options)
    # A TestTimeAug step without --tta gave the model several copies of each
    # input: a traceback deep in the model at the first batch, after the
    # work dir. With --tta the test pipeline is tta_pipeline, for tta_model.
    if not args.tta:
        check_test_time_aug(
            cfg,
            args.config, ['test_dataloader'],
            'tools/test.py without --tta',
            'Add --tta (with tta_pipeline in the config, which then replaces '
            '{key}; video configs need tta_model too), or give {key} without '
            'TestTimeAug.',
            options=args.cfg_options)
    # A head of another number of classes than the data was refused by
    # ConfigCheckHook at before_test, after the work dir was made.
    # It reads the datasets the check above built, not builds them again.
    check_head_classes(
        cfg,
        args.config, ['test_dataloader'],
        args.cfg_options,
        datasets=datasets)
    # What the Runner reads itself: MMEngine ignores an env_cfg key it does
    # not know (cudnn_benchmrk); a default hook without a type fails late.
    check_runner_config(cfg, args.config, args.cfg_options, ['test_evaluator'])
    # A test_cfg key TestLoop does not take failed once the model was built.
    check_loop_keys(cfg, args.config, args.cfg_options, ['test_cfg'])
    # A backbone argument mmaction2's ViT would drop, the wrapper's own
    # refusals: before the work dir. The checkpoint may hold the whole
    # backbone, so the pretrained file is not required.
    model = check_model_config(
        cfg, args.config, args.cfg_options, pretrained=False, whole_model=True)
    # The AdapterHook's arguments, and its trainable plan made on the model
    # built without weights (a pattern that matches no parameter): named
    # before the work dir, not by the hook once the Runner runs it. On the
    # model the check above built, if it built one: not built twice.
    check_adapter_hook_config(cfg, args.config, args.cfg_options, model)
    del model  # a ViT-B's weights, on the CPU: not kept through the run
    # An adapter-only checkpoint takes its frozen backbone from the config's
    # pretrained file: a missing one failed at the load, after the work
    # dir. The checkpoint is read only then, to tell its kind.
    try:
        check_pretrained_files(cfg, args.config, args.cfg_options,
                               pretrained_names_of_cfg)
    except ConfigError:
        if is_adapter_only_file(args.checkpoint):
            raise
    # An empty test list, a test video that is missing or broken: found by
    # the full build, which the Runner made in its test loop, after the
    # work dir. Last of the checks: it reads files. The Runner then uses
    # this dataset, not builds it again.
    datasets = read_datasets(datasets, ['test_dataloader'])
    # A transform whose settings fail when it runs, on every sample: named
    # by its key before the model is built and the work dir made.
    check_first_samples(datasets, ['test_dataloader'], args.config,
                        args.cfg_options)
    cpu_distributed = setup_cpu_distributed(cfg, args.launcher)

    # MMEngine's Runner, or the config's runner_type, keeping the training
    # run's config copy in the work dir (see ConfigCopyRunner).
    runner = build_runner(cfg, datasets)
    del datasets  # the runner's now
    add_work_dir_collect_hook(runner)  # not ./.dist_test
    if stage is not None:
        stage.reach(runner)

    def run():
        metrics = runner.test()
        if args.out is not None and args.out_item == 'metrics' and \
                is_main_process():
            atomic_dump(plain_values(metrics), args.out)

    run_and_finish(run, cpu_distributed)


if __name__ == '__main__':
    main()
