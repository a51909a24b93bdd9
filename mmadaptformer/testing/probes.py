# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Hooks that record what each rank of a real run did, for tests."""
import json
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def parameter_fingerprint(model: torch.nn.Module) -> Dict[str, float]:
    """Per-parameter float64 sums, a cheap fingerprint of the weights."""
    if is_model_wrapper(model):
        model = model.module
    return {
        name: float(p.detach().double().sum())
        for name, p in model.named_parameters()
    }


@HOOKS.register_module()
class DistProbeHook(Hook):
    """Record, per rank, the dataset indices its sampler gave each epoch, the
    loss and a fingerprint of the weights after each training step, and a
    fingerprint of the buffers at the end of each epoch.

    At the end of the run, each rank writes ``dist_probe_rank{rank}.json`` to
    the work dir. Tests use it to check that ranks train on disjoint shards
    and end with identical weights (gradients averaged).
    """

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.steps: List[Dict] = []
        self.epoch_indices: List[List[int]] = []
        self.epoch_buffers: List[Dict[str, float]] = []

    def before_train_epoch(self, runner) -> None:
        # Runs after DistSamplerSeedHook has called ``set_epoch``, so these
        # are exactly the indices this rank loads in this epoch.
        sampler = runner.train_dataloader.sampler
        self.epoch_indices.append([int(i) for i in sampler])

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        loss = outputs.get('loss') if outputs else None
        self.steps.append(
            dict(
                iter=runner.iter,
                loss=None if loss is None else float(loss),
                weights=parameter_fingerprint(runner.model)))

    def after_train_epoch(self, runner) -> None:
        # Priority LOWEST: after any buffer-syncing hook of this epoch.
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.epoch_buffers.append({
            name: float(b.detach().double().sum())
            for name, b in model.named_buffers()
        })

    def after_run(self, runner) -> None:
        path = osp.join(runner.work_dir, f'dist_probe_rank{get_rank()}.json')
        with open(path, 'w') as f:
            json.dump(
                dict(
                    rank=get_rank(),
                    world_size=get_world_size(),
                    backend=(torch.distributed.get_backend()
                             if torch.distributed.is_initialized() else None),
                    epoch_indices=self.epoch_indices,
                    epoch_buffers=self.epoch_buffers,
                    steps=self.steps), f)
