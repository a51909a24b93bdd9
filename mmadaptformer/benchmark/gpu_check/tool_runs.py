# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check's checks that run the package's tools as a user does:
``tools/train.py`` in mixed precision through the paper recipes' optimizer
wrapper, with resume and test of the adapter-only checkpoint,
``tools/dist_train.sh CONFIG 1`` (nccl on a GPU), and
inference through ``mmadaptformer.apis`` (one task, and many tasks on one
backbone) on the device against the CPU."""
import glob
import json
import math
import os
import os.path as osp
import pickle
from typing import List, Optional

from mmengine.config import Config

from ...apis import ModelInferencer, MultiTaskRecognizer
from ...engine import ADAPTER_META_KEY
from ...utils import safe_torch_load
from .commands import free_port, python_tool, run_command, shell_tool
from .deprecations import (DEPRECATION_ENV, amp_deprecations,
                           deprecations_in_log)
from .inference_scores import (class_scores, limit_below, max_diff,
                               trained_tasks)
from .numerics import amp_dtypes, rel_diff
from .verdict import SkipCheck, Verdict
from .workspace import REPO_ROOT

#: The paper recipe of each task, whose optimizer wrapper the task's mixed
#: precision runs train through.
RECIPES = dict(
    video=osp.join(REPO_ROOT, 'configs', 'adaptformer_vitb_ssv2.py'),
    image=osp.join(REPO_ROOT, 'configs', 'adaptformer_vitb_cifar100.py'))


def recipe_wrapper_type(task: str) -> str:
    """``optim_wrapper.type`` of ``task``'s paper recipe."""
    return Config.fromfile(RECIPES[task]).optim_wrapper.type


def recipe_amp_args(task: str, device: str, dtype: str) -> List[str]:
    """The ``tools/train.py`` arguments of a mixed-precision run of a tiny
    config through the optimizer wrapper ``task``'s paper recipe trains
    with (:data:`RECIPES`), as the recipe gets it on ``device``: on CUDA
    without ``--amp``, as ``tools/dist_train.sh configs/<recipe>.py 8``
    runs; on a CPU with ``--amp``, without which a recipe is refused there.

    Args:
        task (str): ``'video'`` or ``'image'``.
        device (str): ``'cuda'`` or ``'cpu'``.
        dtype (str): ``'float16'`` (the recipe's own) or ``'bfloat16'``.

    Returns:
        list[str]: The arguments, ending with ``--cfg-options`` and its
        settings, to which more settings may be appended.
    """
    amp = [] if device == 'cuda' else ['--amp']
    options = [f'optim_wrapper.type={recipe_wrapper_type(task)}']
    if dtype == 'bfloat16':
        options.append('optim_wrapper.dtype=bfloat16')
    return amp + ['--cfg-options'] + options


def _run_wrapper_type(work_dir: str, config: str) -> Optional[str]:
    """``optim_wrapper.type`` of the work dir's config copy of a run."""
    copy = osp.join(work_dir, osp.basename(config))
    if not osp.isfile(copy):
        return None
    return Config.fromfile(copy).optim_wrapper.get('type', 'OptimWrapper')


def _scalars(work_dir: str) -> List[dict]:
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        return []
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def _train_losses(work_dir: str) -> List[float]:
    return [r['loss'] for r in _scalars(work_dir) if 'loss' in r]


def _is_adapter_only(path: str) -> bool:
    return ADAPTER_META_KEY in safe_torch_load(
        path, map_location='cpu').get('meta', {})


def check_train_amp(ctx: dict, task: str) -> dict:
    """``tools/train.py`` of a tiny AdaptFormer config for 2 epochs, in
    float16 (CUDA) and bfloat16 through the optimizer wrapper of the
    task's paper recipe (:func:`recipe_amp_args`: on CUDA without
    ``--amp``, as the recipe runs), against a float32 run; on the video
    task the adapter-only checkpoint is then resumed for a third epoch
    and tested (``tools/test.py --dump``). The deprecation and future
    warnings of each AMP run are in ``details['deprecation_warnings']``;
    none may name the AMP path.

    The AdapterHook stops training if a frozen weight changes, so a
    finished run also means the frozen weights stayed bit-identical.

    Args:
        ctx (dict): The check context.
        task (str): ``'video'`` or ``'image'``.

    Returns:
        dict: :meth:`Verdict.to_dict`.
    """
    verdict = Verdict()
    config = ctx['workspace'][f'{task}_config']
    root = osp.join(ctx['out_dir'], 'work', f'train_{task}')
    timeout = ctx.get('command_timeout', 240)

    deprecations = verdict.details['deprecation_warnings'] = {}
    wrapper_type = verdict.details['recipe_optim_wrapper'] = \
        recipe_wrapper_type(task)

    def train(name: str, *extra) -> str:
        work_dir = osp.join(root, name)
        code, out = run_command(
            python_tool('train.py', config, '--work-dir', work_dir, '--seed',
                        0, *extra),
            osp.join(root, f'{name}.log'),
            timeout,
            env=DEPRECATION_ENV)
        verdict.expect(f'{name}: train.py exit code', code, '==', 0)
        if extra:
            record(name, out, work_dir)
        return work_dir

    def record(name: str, out: str, work_dir: str) -> None:
        deprecations[name] = deprecations_in_log(out)
        verdict.expect(f'{name}: deprecation / future warnings naming AMP',
                       amp_deprecations(deprecations[name]), '==', [])
        verdict.expect(f'{name}: optim_wrapper.type, the recipe\'s',
                       _run_wrapper_type(work_dir, config), '==', wrapper_type)

    runs = {'float32': train('float32')}
    fp32_losses = _train_losses(runs['float32'])
    verdict.details['float32_losses'] = fp32_losses
    for dtype in amp_dtypes(ctx, verdict):
        work_dir = runs[dtype] = train(
            dtype, *recipe_amp_args(task, ctx['device'], dtype))
        ckpt = osp.join(work_dir, 'epoch_2.pth')
        if not verdict.expect(f'{dtype}: epoch_2.pth written',
                              osp.isfile(ckpt), 'true'):
            continue
        verdict.expect(f'{dtype}: epoch_2.pth is adapter-only',
                       _is_adapter_only(ckpt), 'true')
        losses = _train_losses(work_dir)
        verdict.details[f'{dtype}_losses'] = losses
        verdict.expect(f'{dtype}: losses logged and finite',
                       bool(losses) and all(map(math.isfinite, losses)),
                       'true')
        if losses and fp32_losses:
            verdict.expect(f'{dtype}: last logged loss rel. diff vs fp32',
                           rel_diff(losses[-1], fp32_losses[-1]), '<=', 0.05)
        optimizer = safe_torch_load(
            ckpt, map_location='cpu').get('optimizer', {})
        verdict.details[f'{dtype}_loss_scaler_saved'] = \
            'loss_scaler' in optimizer
        if ctx['device'] == 'cuda' and dtype == 'float16':
            verdict.expect('float16: GradScaler state in the checkpoint',
                           'loss_scaler' in optimizer, 'true')

    last = amp_dtypes(ctx, verdict)[-1]
    if task != 'video' or not osp.isfile(osp.join(runs[last], 'epoch_2.pth')):
        return verdict.to_dict()
    # Resume the adapter-only checkpoint for a third epoch, then test it.
    code, out = run_command(
        python_tool('train.py', config, '--work-dir', runs[last],
                    '--seed', 0, '--resume',
                    *recipe_amp_args(task, ctx['device'],
                                     last), 'train_cfg.max_epochs=3'),
        osp.join(root, 'resume.log'),
        timeout,
        env=DEPRECATION_ENV)
    verdict.expect('resume: exit code', code, '==', 0)
    record('resume', out, runs[last])
    verdict.expect('resume: continued from epoch 2', 'resumed epoch: 2' in out,
                   'true')
    ckpt = osp.join(runs[last], 'epoch_3.pth')
    if not verdict.expect('resume: epoch_3.pth written', osp.isfile(ckpt),
                          'true'):
        return verdict.to_dict()
    verdict.expect('resume: epoch_3.pth is adapter-only',
                   _is_adapter_only(ckpt), 'true')
    dump = osp.join(root, 'preds.pkl')
    code, out = run_command(
        python_tool('test.py', config, ckpt, '--work-dir',
                    osp.join(root, 'test'), '--dump', dump),
        osp.join(root, 'test.log'), timeout)
    verdict.expect('test: exit code', code, '==', 0)
    verdict.expect('test: top-1 reported', 'acc/top1' in out, 'true')
    if osp.isfile(dump):
        with open(dump, 'rb') as f:
            preds = pickle.load(f)
        verdict.expect('test: predictions of every val video', len(preds),
                       '==', 8)
    verdict.details['adapter_checkpoint'] = ckpt
    return verdict.to_dict()


def check_dist_train(ctx: dict) -> dict:
    """``tools/dist_train.sh CONFIG 1`` in mixed precision through the
    video recipe's optimizer wrapper (:func:`recipe_amp_args`; float16 on
    CUDA, bfloat16 with ``--amp`` on a CPU): one process of nccl DDP on a
    GPU (gloo on a CPU), with the AdapterHook re-wrapping DDP around the
    trainable parameters and the SyncNormStatsHook.

    Args:
        ctx (dict): The check context (``port`` for the rendezvous, where
            the user's context names one; else the ``PORT`` the user
            exported, as ``dist_train.sh`` reads it; else a free one is
            taken now, as the run starts).

    Returns:
        dict: :meth:`Verdict.to_dict`.
    """
    verdict = Verdict()
    root = osp.join(ctx['out_dir'], 'work', 'dist_train')
    cfg = Config.fromfile(ctx['workspace']['video_config'])
    hooks = [dict(h) for h in cfg.custom_hooks] + [dict(type='DistProbeHook')]
    config = osp.join(ctx['out_dir'], 'work', 'dist_train.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{ctx["workspace"]["video_config"]!r}]\n'
                "custom_imports = dict(imports=['mmadaptformer', "
                "'mmadaptformer.testing.probes'], "
                'allow_failed_imports=False)\n'
                f'custom_hooks = {hooks!r}\n')
    dtype = 'float16' if ctx['device'] == 'cuda' else 'bfloat16'
    extra = recipe_amp_args('video', ctx['device'], dtype)
    code, out = run_command(
        shell_tool('dist_train.sh', config, 1, '--work-dir', root, '--seed', 0,
                   *extra),
        osp.join(root, 'dist_train.log'),
        ctx.get('command_timeout', 240),
        # A PORT the user exported (a port their cluster opens) is theirs.
        env=dict(
            PORT=str(ctx.get('port') or os.environ.get('PORT')
                     or free_port())))
    verdict.expect('dist_train.sh exit code', code, '==', 0)
    verdict.expect('optim_wrapper.type, the recipe\'s',
                   _run_wrapper_type(root, config), '==',
                   recipe_wrapper_type('video'))
    probe = osp.join(root, 'dist_probe_rank0.json')
    if not verdict.expect('rank 0 probe written', osp.isfile(probe), 'true'):
        return verdict.to_dict()
    with open(probe) as f:
        probe = json.load(f)
    backend = 'nccl' if ctx['device'] == 'cuda' else 'gloo'
    verdict.expect('process group backend', probe['backend'], '==', backend)
    verdict.expect('world size', probe['world_size'], '==', 1)
    verdict.expect('training steps (8 videos, batch 4, 2 epochs)',
                   len(probe['steps']), '==', 4)
    verdict.expect(
        'losses finite',
        all(
            math.isfinite(s['loss']) for s in probe['steps']
            if s['loss'] is not None), 'true')
    ckpt = osp.join(root, 'epoch_2.pth')
    verdict.expect('epoch_2.pth is adapter-only',
                   osp.isfile(ckpt) and _is_adapter_only(ckpt), 'true')
    return verdict.to_dict()


def check_multitask_inference(ctx: dict) -> dict:
    """The training checks' adapter-only checkpoints, run through
    ``mmadaptformer.apis`` on the device and on the CPU: each alone
    (:class:`ModelInferencer`), and all checkpoints of a task (its float32,
    float16 and bfloat16 runs) as the tasks of one
    :class:`MultiTaskRecognizer`, on one frozen backbone in one batched
    forward. The class scores agree: device against CPU, and each task
    served with the others against the same checkpoint alone.

    Args:
        ctx (dict): The check context.

    Returns:
        dict: :meth:`Verdict.to_dict`.

    Raises:
        SkipCheck: If the training checks left no checkpoint.
    """
    tasks = trained_tasks(ctx)
    if not tasks:
        raise SkipCheck('no trained checkpoint: run train_video / '
                        'train_image first')
    verdict, tolerance = Verdict(), 2e-3
    devices = list(dict.fromkeys((ctx['device'], 'cpu')))
    for task, ckpts, files in tasks:
        config = ctx['workspace'][f'{task}_config']
        alone, together = {}, {}
        for device in devices:
            # One batch of all inputs, as the multi-task engine's below:
            # the same batch composition for both (cuDNN may pick another
            # TF32 convolution algorithm for another batch size).
            for run, ckpt in ckpts.items():
                alone[device, run] = class_scores(
                    ModelInferencer(config, ckpt, device=device)(
                        files, batch_size=len(files)))
            if len(ckpts) < 2:
                continue
            engine = MultiTaskRecognizer(device=device)
            for run, ckpt in ckpts.items():
                engine.add_task(run, config, ckpt)
            results = engine(files, batch_size=len(files))
            for run in ckpts:
                together[device, run] = class_scores(results, run)
        device = ctx['device']
        verdict.details[f'{task}_tasks'] = list(ckpts)
        verdict.expect(f'{task}: inputs classified',
                       len(alone[device, next(iter(ckpts))]), '==', len(files))
        for run in ckpts:
            if device != 'cpu':
                verdict.expect(f'{task} {run}: max score diff {device} vs cpu',
                               max_diff(alone[device, run], alone['cpu', run]),
                               '<=', tolerance)
            if not together:
                continue
            # A task answered with another task's adapters would be off by
            # the distance between the two tasks' own answers, which after
            # 2 tiny epochs can be as small as the tolerance: the limit is
            # also a tenth of the distance to the nearest other task.
            nearest = min(
                max_diff(alone[device, run], alone[device, other])
                for other in ckpts if other != run)
            verdict.details[f'{task} {run}: distance to the nearest other '
                            'task'] = nearest
            verdict.expect(
                f'{task} {run}: max score diff, served with the other tasks '
                f'vs alone ({device})',
                max_diff(together[device, run], alone[device, run]),
                '<=',
                limit_below(tolerance, nearest),
                note='the smaller of the tolerance and a tenth of the '
                'distance to the nearest other task')
            if device != 'cpu':
                verdict.expect(
                    f'{task} {run}: max score diff of the multi-task '
                    f'forward, {device} vs cpu',
                    max_diff(together[device, run], together['cpu', run]),
                    '<=', tolerance)
    return verdict.to_dict()
