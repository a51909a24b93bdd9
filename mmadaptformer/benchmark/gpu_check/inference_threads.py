# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check of what inference gets beside files and what it shares
between threads: numpy arrays given to ``mmadaptformer.apis`` against the
same media given as files, and two threads in one ``ModelInferencer``, one
``MultiTaskRecognizer`` and one model's forward against sequential calls,
on the device and for AdaptFormer (the training checks' checkpoints) and
VPT-shallow (a checkpoint written here)."""
import os
import os.path as osp
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import MODELS, init_default_scope

from ...apis import ModelInferencer, MultiTaskRecognizer
from ...utils.model_keys import BACKBONE_PREFIX
from .held_threads import WAIT_S, hold_point, run_held
from .inference_scores import (class_scores, decoded_arrays, limit_below,
                               max_diff, trained_tasks, val_files)
from .verdict import Verdict

__all__ = ['write_vpt_shallow_model', 'check_array_thread_inference']

#: Scores of the device against the CPU, as check_multitask_inference.
TOLERANCE = 2e-3
#: How long the first of two threads waits for the second inside a
#: forward that holds the inferencer's lock (the second cannot finish).
HOLD_S = 1.0
#: The workspace's tasks.
TASKS = ('video', 'image')


def write_vpt_shallow_model(ctx: dict,
                            task: str,
                            root: str,
                            seed: int = 0) -> Dict[str, str]:
    """A VPT-shallow config on the workspace's frozen backbone of ``task``
    and a full checkpoint of it, its prompts drawn from N(0, 1) and its
    head's weights from N(0, 0.1²): far from their initialisation, so that
    other prompts (or none) and other inputs score differently, and not so
    large that TF32 convolutions on a GPU move its scores by 2e-3.

    Args:
        ctx (dict): The check context.
        task (str): ``'video'`` or ``'image'``.
        root (str): An existing folder for the two files.
        seed (int): Seeds the prompts and the head. Defaults to 0.

    Returns:
        dict: ``config`` and ``checkpoint`` paths.
    """
    base = ctx['workspace'][f'{task}_config']
    host = Config.fromfile(base).model.backbone.backbone.to_dict()
    config = osp.join(root, f'vpt_shallow_{task}.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{base!r}]\n'
                "model = dict(backbone=dict(_delete_=True, type='VPT', "
                f'num_prompts=2, deep=False, backbone={host!r}))\n'
                "custom_hooks = [dict(type='AdapterHook', "
                "mode='linear_probe', extra_trainable=[r'prompt_embeddings'],"
                ' adapter_only_checkpoint=True)]\n')
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith('prompt_embeddings'):
                param.normal_()
            elif not name.startswith(BACKBONE_PREFIX) and param.dim() > 1:
                param.normal_(std=0.1)
    checkpoint = osp.join(root, f'vpt_shallow_{task}.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    return dict(config=config, checkpoint=checkpoint)


def _expect_threads(verdict: Verdict, label: str, run: dict,
                    want: List[torch.Tensor], read: List[Callable],
                    overlap: bool) -> None:
    """Expectations of a :func:`run_held` run of two calls against the
    same calls made one after the other (``want``, first and second);
    ``read`` turns each call's result into its scores.

    The limit is the smaller of the tolerance and a tenth of the distance
    between the two calls' own answers: a thread answered with the other
    thread's inputs, task or prompts fails it.
    """
    verdict.expect(f'{label}: both threads answered', run['errors'], '==', {})
    verdict.expect(f'{label}: first thread held inside its forward',
                   run['held'], 'true')
    verdict.details[f'{label}: forwards overlapped'] = run['overlapped']
    if overlap:
        verdict.expect(
            f'{label}: second forward ran while the first was held',
            run['overlapped'],
            'true',
            note='no lock: the two forwards overlap in one model')
    distance = max_diff(want[0], want[1])
    verdict.details[f'{label}: distance between the two calls'] = distance
    for index, name in enumerate(('first', 'second')):
        got = run[name]
        verdict.expect(
            f'{label}: max score diff, {name} thread vs sequential',
            None if got is None else max_diff(read[index](got), want[index]),
            '<=',
            limit_below(TOLERANCE, distance),
            note='the smaller of the tolerance and a tenth of the distance '
            "between the two calls' answers")


def _raw_forward(model: torch.nn.Module, data: List[dict]) -> torch.Tensor:
    """One ``test_step`` without the inferencer's lock: the model's own
    per-thread forward state is all that keeps two threads apart."""
    with torch.no_grad():
        samples = model.test_step(pseudo_collate(data))
    return torch.stack([s.pred_score.float().cpu() for s in samples])


def _one_model(verdict: Verdict, ctx: dict, label: str, task: str, config: str,
               checkpoint: str, files: List[str]) -> None:
    """Arrays against files, device against CPU, and two threads against
    sequential calls of one model served alone."""
    device, n = ctx['device'], len(files)
    arrays = decoded_arrays(task, files)
    scores: Dict[tuple, torch.Tensor] = {}
    inferencers = {}
    for dev in dict.fromkeys((device, 'cpu')):
        inferencer = inferencers[dev] = ModelInferencer(
            config, checkpoint, device=dev)
        scores[dev, 'files'] = class_scores(inferencer(files, batch_size=n))
        results = inferencer(arrays, batch_size=n)
        if dev == device:
            verdict.expect(f'{label}: arrays answered under their indices',
                           list(results), '==', list(range(n)))
        scores[dev, 'arrays'] = class_scores(results)
    inferencer = inferencers[device]
    # The arrays in the other colour order: what a wrong channel order in
    # the array path would score.
    swapped = class_scores(
        inferencer([np.ascontiguousarray(a[..., ::-1]) for a in arrays],
                   batch_size=n))
    distance = max_diff(scores[device, 'files'], swapped)
    verdict.details[f'{label}: distance to the arrays in the other colour '
                    'order'] = distance
    verdict.expect(
        f'{label}: max score diff, arrays vs files ({device})',
        max_diff(scores[device, 'arrays'], scores[device, 'files']),
        '<=',
        limit_below(TOLERANCE, distance),
        note='the smaller of the tolerance and a tenth of the distance to '
        'the arrays in the other colour order')
    if device != 'cpu':
        for kind in ('files', 'arrays'):
            verdict.expect(
                f'{label}: max score diff of {kind}, {device} vs cpu',
                max_diff(scores[device, kind], scores['cpu', kind]), '<=',
                TOLERANCE)

    # Two threads: one the files, the other the arrays in reverse order.
    backwards = arrays[::-1]
    want = [scores[device, 'files'], scores[device, 'arrays'].flip(0)]
    run = run_held(
        hold_point(inferencer.model), lambda: inferencer(files, batch_size=n),
        lambda: inferencer(backwards, batch_size=n), HOLD_S)
    _expect_threads(
        verdict,
        f'{label} ModelInferencer threads',
        run,
        want, [class_scores] * 2,
        overlap=False)
    inputs = inferencer.inputs
    data = [[inputs.load(key, item) for key, item in inputs.items(batch)]
            for batch in (files, backwards)]
    model = inferencer.model
    want = [_raw_forward(model, batch) for batch in data]
    run = run_held(
        hold_point(model), lambda: _raw_forward(model, data[0]),
        lambda: _raw_forward(model, data[1]), WAIT_S)
    _expect_threads(
        verdict,
        f'{label} model forward threads',
        run,
        want, [torch.as_tensor] * 2,
        overlap=True)


def _multitask(verdict: Verdict, ctx: dict, task: str, ckpts: Dict[str, str],
               files: List[str]) -> None:
    """Arrays against files and two threads (each asking for another
    task) against sequential calls of one :class:`MultiTaskRecognizer` on
    the device."""
    device, n = ctx['device'], len(files)
    config = ctx['workspace'][f'{task}_config']
    engine = MultiTaskRecognizer(device=device)
    for run, ckpt in ckpts.items():
        engine.add_task(run, config, ckpt)
    label = f'{task} multi-task'
    alone = {
        run: class_scores(engine(files, tasks=run, batch_size=n), run)
        for run in ckpts
    }
    # All tasks in one forward, of the files and of their arrays.
    together = engine(files, batch_size=n)
    results = engine(decoded_arrays(task, files), batch_size=n)
    verdict.expect(f'{label}: arrays answered under their indices',
                   list(results), '==', list(range(n)))
    for run in ckpts:
        nearest = min(
            max_diff(alone[run], alone[other]) for other in ckpts
            if other != run)
        verdict.expect(
            f'{label} {run}: max score diff, arrays vs files ({device})',
            max_diff(class_scores(results, run), class_scores(together, run)),
            '<=',
            limit_below(TOLERANCE, nearest),
            note='the smaller of the tolerance and a tenth of the distance '
            'to the nearest other task')
    first, second = list(ckpts)[:2]
    run = run_held(
        hold_point(engine.base),
        lambda: engine(files, tasks=first, batch_size=n),
        lambda: engine(files, tasks=second, batch_size=n), HOLD_S)
    _expect_threads(
        verdict,
        f'{label} threads ({first}, {second})',
        run, [alone[first], alone[second]], [
            lambda results: class_scores(results, first),
            lambda results: class_scores(results, second)
        ],
        overlap=False)


def check_array_thread_inference(ctx: dict,
                                 tasks: Sequence[str] = TASKS) -> dict:
    """Inference of arrays and from two threads, on the device.

    For the float32 checkpoint of each training check (AdaptFormer, video
    and image) and for a VPT-shallow model of each (prompts carried between
    blocks, see :func:`write_vpt_shallow_model`), served alone by
    :class:`ModelInferencer`:

    * the media of the validation files as numpy arrays (videos' frames
      RGB, images BGR) score as the files, answered under their indices,
      on the device (and on the device as on the CPU);
    * two threads calling one inferencer (files; the arrays backwards)
      get what the same calls get one after the other; so do two threads
      in the model's own forward without the inferencer's lock, the first
      held inside its forward until the second has run a whole one (the
      per-thread state of each block's ``AdapterRouter``, and VPT-shallow's
      carried prompts).

    And for all checkpoints of a task as the tasks of one
    :class:`MultiTaskRecognizer`: arrays score as files, and two threads
    asking for different tasks get what sequential calls get.

    Args:
        ctx (dict): The check context.
        tasks (Sequence[str]): Of ``'video'`` and ``'image'``, those to
            check. Defaults to both.

    Returns:
        dict: :meth:`Verdict.to_dict`.
    """
    verdict = Verdict()
    root = osp.join(ctx['out_dir'], 'work', 'array_thread_inference')
    os.makedirs(root, exist_ok=True)
    trained = [t for t in trained_tasks(ctx) if t[0] in tasks]
    verdict.details['adaptformer_tasks'] = [task for task, *_ in trained]
    if not trained:
        verdict.details['adaptformer'] = (
            'not checked: no trained checkpoint (run train_video / '
            'train_image first)')
    for task, ckpts, files in trained:
        run = 'float32' if 'float32' in ckpts else next(iter(ckpts))
        _one_model(verdict, ctx, f'{task} {run}', task,
                   ctx['workspace'][f'{task}_config'], ckpts[run], files)
        if len(ckpts) > 1:
            _multitask(verdict, ctx, task, ckpts, files)
    for task in tasks:
        model = write_vpt_shallow_model(ctx, task, root)
        _one_model(verdict, ctx, f'vpt-shallow {task}', task, model['config'],
                   model['checkpoint'], val_files(ctx, task))
    return verdict.to_dict()
