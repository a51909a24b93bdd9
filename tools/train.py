# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Train a model with MMEngine: the same command line as MMAction2's and
MMPretrain's ``tools/train.py``, for video (``default_scope='mmaction'``) and
image (``default_scope='mmpretrain'``) configs alike.

Differences from the toolboxes' scripts, all additive:

* ``import mmadaptformer`` runs first, so this package's modules are
  registered and the upstream gaps (mmaction2's missing DRN folder,
  ``weights_only`` resume) are closed even if the config has no
  ``custom_imports``.
* On a machine without a GPU, ``--launcher pytorch`` (``dist_train.sh``)
  trains with real multi-process DDP on the CPU through gloo.
* ``--amp`` trains through
  :class:`~mmadaptformer.engine.AdaptAmpOptimWrapper`, the wrapper the
  paper's recipes name: float16 with loss scaling on a GPU, as MMEngine's
  ``AmpOptimWrapper``; bfloat16 autocast on a machine without one
  (``cpu_bf16=True``, which MMEngine's wrapper cannot); and on both,
  mmaction2's heads accept bfloat16 scores (``optim_wrapper.dtype=
  bfloat16``). ``--amp`` replaces MMEngine's ``AmpOptimWrapper`` too,
  which a config of your own keeps without it (MMEngine's class, as in
  MMAction2's and MMPretrain's tools; on CUDA a warning names
  ``AdaptAmpOptimWrapper``, the type to write instead). Without ``--amp``,
  either is refused on a machine without a GPU before anything is built.
  A type is judged by the class it builds (``'mmengine.AmpOptimWrapper'``
  is MMEngine's), and MMEngine's named after ``--amp`` (``--cfg-options
  optim_wrapper.type=AmpOptimWrapper``) is refused on every machine: it
  takes no ``cpu_bf16``.
* ``--resume auto`` resumes from the newest checkpoint that loads, keeps
  damaged ones as ``*.corrupt`` and refuses to start over on top of a run's
  checkpoints without ``--allow-restart`` (see
  :mod:`mmadaptformer.engine.resume`).
* A new run (not ``--resume``) whose ``load_from`` is a file its own
  checkpoint hook writes (``work_dirs/x/epoch_2.pth`` with the work dir
  ``work_dirs/x``) is refused on one line, exit status 2, before anything
  is built, naming the ``--work-dir`` to train in instead: its first save
  replaced the checkpoint it started from (see
  :mod:`mmadaptformer.utils.load_from_overwrite`).
* One training run at a time in a work dir: global rank 0 holds a lock on
  ``WORK_DIR/.mmadaptformer-train.lock`` from before anything is written
  there until training ends, and a second run into that folder (started
  twice, a bare ``srun -n 4``, a ``--resume`` of the live run) is refused
  on one line naming the live run, exit status 2 (see
  :mod:`mmadaptformer.utils.work_dir_lock`).
* The checkpoint hook is an ``AtomicCheckpointHook`` (a ``CheckpointHook``
  in the config is upgraded), so a killed run keeps its last complete
  checkpoint.
* Every run gets an ``EpochRandomnessHook`` (see
  :mod:`mmadaptformer.engine.hooks.epoch_randomness_hook`), so ``--resume``
  after a crash trains exactly like an uninterrupted run.
* The runner is a :class:`~mmadaptformer.engine.ConfigCopyRunner` (the
  config's own ``runner_type`` with it mixed in): the work dir's config
  copy is written once training starts, after the weights loaded, so a run
  refused at its start leaves the previous one; every run's config is also
  kept next to its log, ``work_dir/<timestamp>/``.
* Ctrl-C ends the run with one line that says where it stopped and which
  checkpoint ``--resume`` goes on from, exit status 130, not a traceback
  (see :mod:`mmadaptformer.engine.run_stop`).
* Each dataset is built and its list read once, before the work dir is
  made (an empty list or a missing video is refused there), and the
  Runner trains and validates on those datasets.
"""
import contextlib
import os.path as osp
from typing import Optional

from mmengine.logging import print_log

import mmadaptformer  # noqa: F401  (registers modules, closes gaps)
from mmadaptformer.engine import (add_epoch_randomness_hook,
                                  add_work_dir_collect_hook, build_runner,
                                  refusals_exit, use_atomic_checkpoint_hook)
from mmadaptformer.engine.optimizers import (
    apply_amp_flag, mmengine_amp_wrapper_warning,
    refuse_amp_without_accelerator, refuse_cpu_bf16_for_mmengine_wrapper)
from mmadaptformer.engine.resume import apply_auto_resume, log_resume_plan
from mmadaptformer.engine.run_stop import TrainStage, end_on_ctrl_c
from mmadaptformer.engine.train_config_check import check_train_config
from mmadaptformer.models import set_host_pretrained
from mmadaptformer.utils import run_and_finish, setup_cpu_distributed
from mmadaptformer.utils.auto_scale_lr_flag import enable_auto_scale_lr
from mmadaptformer.utils.cfg_options import add_cfg_options
from mmadaptformer.utils.cfg_options_merge import (CfgOptionsError,
                                                   merge_cfg_options)
from mmadaptformer.utils.cli_types import (ToolArgumentParser,
                                           add_launcher_argument,
                                           read_config_arg, refuse_input_files)
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.dist import (launcher_env_problem, launcher_rank,
                                      set_local_rank)
from mmadaptformer.utils.launcher_parent import end_with_launcher
from mmadaptformer.utils.load_from_overwrite import (config_checkpoint_hooks,
                                                     overwritten_load_from)
from mmadaptformer.utils.local_files import home_expanded
from mmadaptformer.utils.tool_loader_defaults import \
    add_mmpretrain_loader_defaults
from mmadaptformer.utils.work_dir_check import (refuse_two_work_dirs,
                                                refuse_work_dir)
from mmadaptformer.utils.work_dir_lock import WorkDirBusyError, hold_work_dir


def _parser() -> ToolArgumentParser:
    parser = ToolArgumentParser(
        description='Train a video or image model (MMAction2 / MMPretrain)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.')
    parser.add_argument(
        '--allow-restart',
        action='store_true',
        help='with --resume auto: start from scratch when the work dir '
        'holds checkpoints but none of them loads (they are kept, renamed '
        'to *.corrupt). Without it --resume auto refuses to start over '
        'there.')
    parser.add_argument(
        '--pretrained',
        metavar='CHECKPOINT',
        help='pretrained weights of the (frozen) backbone: sets the stock '
        'backbone\'s init_cfg (model.backbone.backbone.init_cfg for '
        'AdaptFormer/VPT, model.backbone.init_cfg otherwise) to Pretrained '
        'with the prefix the file needs. Accepts convert_official.py '
        'output, MMEngine checkpoints and bare backbone state dicts. Works '
        'on every config, also where init_cfg is None. A plain backbone '
        'that loads its own weights gets what it loads: TimeSformer, which '
        'takes no init_cfg, the file as its pretrained (its own keys); '
        'UniFormer, Swin3D and UniFormerV2 their 2D/CLIP flag off, so that '
        'they run their init_cfg.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='whether not to evaluate the checkpoint during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='whether to auto scale the learning rate according to the '
        'actual batch size and the original batch size.')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed',
        action='store_true',
        help='whether or not set different seeds for different ranks')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='whether to set deterministic options for CUDNN backend.')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='whether to disable the pin_memory option in dataloaders.')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='whether to disable the persistent_workers option in dataloaders.'
    )
    add_cfg_options(parser)
    add_launcher_argument(parser, 'train')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_args(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    # train.py merged --cfg-options after --work-dir, test.py before: two
    # folders would each take another, silently.
    refuse_two_work_dirs(parser, args.work_dir, args.cfg_options)
    # The shell leaves `~` as it is when quoted or after `--option=`.
    # MMEngine's CheckpointLoader expands it in the checkpoints (the work
    # dir is expanded in merge_args, whoever set it).
    if args.resume != 'auto':
        args.resume = home_expanded(args.resume)
    args.pretrained = home_expanded(args.pretrained)
    set_local_rank(args.launcher, args.local_rank)
    return args


def merge_args(cfg, args):
    """Merge CLI arguments to config."""
    cfg.launcher = args.launcher

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        apply_amp_flag(cfg, args.config)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if cfg.get('randomness', None) is None:
        cfg.randomness = dict(
            seed=args.seed,
            diff_rank_seed=args.diff_rank_seed,
            deterministic=args.deterministic)
    else:
        # Explicit flags win over the config, as users expect.
        if args.seed is not None:
            cfg.randomness.seed = args.seed
        if args.diff_rank_seed:
            cfg.randomness.diff_rank_seed = True
        if args.deterministic:
            cfg.randomness.deterministic = True

    add_mmpretrain_loader_defaults(
        cfg, ('train_dataloader', 'val_dataloader', 'test_dataloader'),
        pin_memory=True,
        persistent_workers=True,
        collate_fn=dict(type='default_collate'))
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field, None) is None:
            continue
        if args.no_pin_memory:
            cfg[field]['pin_memory'] = False
        if args.no_persistent_workers:
            cfg[field]['persistent_workers'] = False

    # Before --cfg-options, which can then refine the new init_cfg.
    if args.pretrained is not None:
        # A plain host that loads its own weights gets what it reads.
        key, value = set_host_pretrained(cfg, args.pretrained)
        print_log(f'--pretrained: {key} = {value}', logger='current')

    merge_cfg_options(cfg, args.cfg_options)
    # As the Runner's CheckpointLoader reads it (`--cfg-options
    # load_from=~/x.pth`), for the checks and hooks that read it first.
    if cfg.get('load_from'):
        cfg.load_from = home_expanded(cfg.load_from)
    # --work-dir, a config's or an option's work_dir='~/runs/x': MMEngine
    # would make a folder named ~ in the working directory.
    cfg.work_dir = home_expanded(cfg.work_dir)
    # After --cfg-options, which may then change val_dataloader as they
    # please: --no-validate wins.
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    # After --cfg-options, which may give the base batch size.
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg, args.config)
    return cfg


def refuse_missing_files(args) -> None:
    """End with exit status 2, as for any other mistake of the command line,
    if a file it names is not there or is given in another's place (the
    tools' one order: :func:`~mmadaptformer.utils.cli_types.
    input_files_problem`): the Runner would find a missing checkpoint only
    after making a log folder and building the model."""
    resume = None if args.resume == 'auto' else args.resume
    refuse_input_files(_parser(), [(args.config, 'config')],
                       [(resume, '--resume'),
                        (args.pretrained, '--pretrained')])


def main(argv=None):
    # Ctrl-C: one line, where it stopped and how --resume goes on; 130.
    return end_on_ctrl_c('train.py', lambda stage: _main(argv, stage),
                         TrainStage())


def _main(argv, stage: TrainStage) -> None:
    args = parse_args(argv)
    refuse_missing_files(args)
    # Before the config is read: a run started without its launcher.
    problem = launcher_env_problem(args.launcher, 'train')
    if problem:
        _parser().error(problem)
    end_with_launcher(args.launcher)
    # Bad input (adapters on another backbone, a damaged checkpoint, a bad
    # annotation line, nothing to resume) ends with its message on one
    # line, not a traceback.
    with refusals_exit():
        run_train(args, stage)


def run_train(args, stage: Optional[TrainStage] = None):
    # A config that cannot be read (Python that does not parse, a _base_
    # that is not there) is a mistake of the command line, exit status 2,
    # as in infer.py; one that names a type no registry holds ends later
    # with one line naming the file and the key, exit status 1.
    cfg = read_config_arg(_parser(), args.config)
    try:
        cfg = merge_args(cfg, args)
    except CfgOptionsError as e:
        # A mistake of the command line, said as test.py and infer.py say
        # it: one line, exit status 2.
        _parser().error(str(e))
    refuse_work_dir(_parser(), cfg.work_dir, args.work_dir, args.cfg_options)
    # A new run from a checkpoint of its own work dir saved over that file.
    problem = overwritten_load_from(
        cfg.get('load_from'), cfg.get('resume'), cfg.work_dir,
        config_checkpoint_hooks(cfg))
    if problem:
        _parser().error(problem)
    with naming_config_mistakes(cfg, args.config, args.cfg_options):
        start_training(cfg, args, stage)


def start_training(cfg, args, stage: Optional[TrainStage] = None):
    # First: with --amp, the refusal below would tell to add --amp.
    refuse_cpu_bf16_for_mmengine_wrapper(cfg, args.config, amp=args.amp)
    refuse_amp_without_accelerator(cfg, args.config)
    # Said once the Runner's logger writes the run's log file too.
    amp_warning = mmengine_amp_wrapper_warning(cfg, args.config)
    # Every mistake the Runner would find after making the work dir (a
    # dataloader, the head, the loops, the model, a missing video), named
    # first. The Runner then uses these datasets, not builds them again.
    datasets = check_train_config(cfg, args.config, args.cfg_options)
    # Before anything is written into the work dir (--resume auto renames
    # damaged checkpoints, the Runner makes its log folder): one training
    # run there at a time. The runner's train() shares the lock.
    with contextlib.ExitStack() as lock:
        hold_training_lock(lock, cfg)
        # Resume from the newest checkpoint that loads; never start over
        # on top of a run's checkpoints unless told so.
        plan = None
        if args.resume == 'auto':
            plan = apply_auto_resume(cfg, args.allow_restart)
        # Atomic checkpoint writes for the user's own configs too.
        atomic_note = use_atomic_checkpoint_hook(cfg)
        cpu_distributed = setup_cpu_distributed(cfg, args.launcher)

        # MMEngine's Runner, or the config's runner_type, keeping the
        # training run's config copy in the work dir (see ConfigCopyRunner).
        runner = build_runner(cfg, datasets)
        del datasets  # the runner's now
        if stage is not None:
            stage.reach(runner)
        if plan is not None:
            log_resume_plan(plan, runner.logger)
        if atomic_note:
            runner.logger.info(atomic_note)
        if amp_warning:
            runner.logger.warning(amp_warning)
        # Reseed per epoch so that --resume continues like an
        # uninterrupted run.
        add_epoch_randomness_hook(runner)
        # DDP evaluation files go to work_dir/.dist_test, not ./.dist_test.
        add_work_dir_collect_hook(runner)

        def train_and_give_back():
            # Given back before a CPU DDP run ends through os._exit.
            try:
                runner.train()
            finally:
                lock.close()

        run_and_finish(train_and_give_back, cpu_distributed)


def hold_training_lock(stack: contextlib.ExitStack, cfg) -> None:
    """Hold the work dir's training lock in ``stack`` on the global rank 0
    that the launcher set (:func:`~mmadaptformer.utils.work_dir_lock.
    hold_work_dir`): another live training run there ends this one on one
    line, exit status 2, before anything is written into the work dir.

    Refused, rank 0 exits before the process group exists: launchers that
    end the other tasks when one fails end them (torchrun and
    ``dist_train.sh``, ``slurm_train.sh``'s ``srun --kill-on-bad-exit=1``,
    ``mpirun``); a bare ``srun ... --launcher slurm`` without
    ``--kill-on-bad-exit=1`` leaves them waiting in ``init_dist`` until its
    timeout. (Initialising the group first and broadcasting rank 0's
    answer, as the runners' ``train()`` does, needs GPU testing.)"""
    if launcher_rank(cfg.launcher) != 0:
        return
    try:
        stack.enter_context(hold_work_dir(cfg.work_dir))
    except WorkDirBusyError as e:
        _parser().error(str(e))


if __name__ == '__main__':
    main()
