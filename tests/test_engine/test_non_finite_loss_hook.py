# Copyright (c) mmadaptformer contributors. All rights reserved.
"""NonFiniteLossHook on real tiny training runs whose loss becomes NaN at a
chosen iteration (a registered head multiplies its loss by NaN there)."""
import importlib
import re
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, run_ranks, write_config
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from tool_runners import free_port

from mmadaptformer.engine import NonFiniteLossError

# A head whose loss is NaN at given (1-based) calls, on given ranks: a real
# non-finite loss at a chosen iteration, in this process or in a DDP rank's.
NAN_HEAD_SOURCE = textwrap.dedent('''
    import torch
    from mmengine.dist import get_rank
    from mmpretrain.models import LinearClsHead
    from mmpretrain.registry import MODELS


    @MODELS.register_module(force=True)
    class NaNAtHead(LinearClsHead):
        """LinearClsHead with loss_cls NaN at the calls in ``nan_at``."""

        def __init__(self, nan_at=(), nan_ranks=None, **kwargs):
            super().__init__(**kwargs)
            self.nan_at = set(nan_at)
            self.nan_ranks = nan_ranks
            self.calls = 0

        def loss(self, feats, data_samples, **kwargs):
            self.calls += 1
            loss = super().loss(feats, data_samples, **kwargs)['loss']
            if self.calls in self.nan_at and (
                    self.nan_ranks is None or get_rank() in self.nan_ranks):
                loss = loss * float('nan')
            return dict(loss_cls=loss, loss_aux=torch.zeros(()))
''')


@pytest.fixture(scope='module')
def nan_head_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('nan_head')
    (root / 'nan_head.py').write_text(NAN_HEAD_SOURCE)
    sys.path.insert(0, str(root))
    importlib.import_module('nan_head')
    yield str(root)
    sys.path.remove(str(root))
    sys.modules.pop('nan_head', None)


class _WeightProbe(Hook):
    """Record the head weights and gradients after every training step."""

    priority = 'LOWEST'

    def __init__(self):
        self.weights, self.grads = [], []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        fc = runner.model.head.fc
        self.weights.append(fc.weight.detach().clone())
        self.grads.append(
            None if fc.weight.grad is None else fc.weight.grad.clone())


def _runner(tmp_path,
            data_root,
            nan_at,
            optim_type='OptimWrapper',
            **hook_kwargs):
    cfg = Config.fromfile(
        write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                     image_data_cfg(data_root)))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.head.type = 'NaNAtHead'
    cfg.model.head.nan_at = list(nan_at)
    cfg.optim_wrapper.type = optim_type
    cfg.default_hooks.non_finite_loss = dict(
        type='NonFiniteLossHook', **hook_kwargs)
    cfg.train_cfg.max_epochs = 2
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.val_interval = 100
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    runner = Runner.from_cfg(cfg)
    probe = _WeightProbe()
    runner.register_hook(probe)
    return runner, probe


@pytest.mark.parametrize('optim_type', ['OptimWrapper', 'CPUAmpOptimWrapper'])
def test_stops_at_first_non_finite_loss(tmp_path, tiny_image_data,
                                        nan_head_dir, clean_loggers,
                                        optim_type):
    # 8 training images, batch 4: 2 iterations per epoch; NaN at the 3rd.
    runner, probe = _runner(tmp_path, tiny_image_data, [3], optim_type)
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    message = str(info.value)
    lr = runner.optim_wrapper.get_lr()['lr'][0]
    assert 'iteration 3 (epoch 2, batch 1 of the epoch)' in message
    assert 'loss=nan' in message and 'loss_cls=nan' in message
    assert 'loss_aux=0.0' in message
    assert f'lr={lr!r}' in message and lr != 0.05  # the cosine's 2nd epoch
    # It stopped before the step: no backward, weights as after iteration 2.
    assert len(probe.weights) == 2
    assert torch.equal(runner.model.head.fc.weight, probe.weights[-1])


def test_skip_counts_and_keeps_weights(tmp_path, tiny_image_data, nan_head_dir,
                                       clean_loggers):
    runner, probe = _runner(tmp_path, tiny_image_data, [2, 3], skip=True)
    runner.train()
    w = probe.weights
    assert len(w) == 4
    # Skipped steps (2 and 3) change nothing and leave no gradient behind.
    assert torch.equal(w[1], w[0]) and torch.equal(w[2], w[0])
    assert probe.grads[1] is None and probe.grads[2] is None
    assert not torch.equal(w[3], w[2])
    hub = runner.message_hub
    assert hub.get_scalar('train/skipped_steps').current() == 2
    # One skip in each epoch; the last iteration is in epoch 2.
    assert hub.get_scalar('train/skipped_steps_epoch').current() == 1
    assert hub.get_info('non_finite_loss_skipped_total') == 2
    # The NaNs of skipped steps stay out of the smoothed training loss.
    assert torch.isfinite(torch.tensor(
        hub.get_scalar('train/loss').data[0])).all()
    # Each epoch's summary counts its one skip in the singular.
    log = next(Path(runner.log_dir).glob('*.log')).read_text()
    for epoch, total in ((1, 1), (2, 2)):
        assert (f'NonFiniteLossHook: skipped 1 step with a non-finite loss '
                f'in epoch {epoch}, {total} in total.') in log, log[-2000:]


def test_max_skips_stops_anyway(tmp_path, tiny_image_data, nan_head_dir,
                                clean_loggers):
    runner, probe = _runner(
        tmp_path, tiny_image_data, [2, 3], skip=True, max_skips=1)
    with pytest.raises(NonFiniteLossError, match='max_skips=1') as info:
        runner.train()
    assert 'iteration 3' in str(info.value)
    assert len(probe.weights) == 2


def test_rejects_bad_options():
    from mmadaptformer.engine import NonFiniteLossHook
    with pytest.raises(ValueError, match='max_skips=-1'):
        NonFiniteLossHook(skip=True, max_skips=-1)
    with pytest.raises(
            TypeError, match='skip must be True or False, but '
            "got skip='yes'"):
        NonFiniteLossHook(skip='yes')


def test_dist_ranks_agree(tmp_path, tiny_image_data, nan_head_dir):
    """2-process gloo DDP: the loss is NaN on rank 1 only. Both ranks skip
    the first bad step together (no hang in DDP's backward), then both stop
    at the second (max_skips=1)."""
    body = image_data_cfg(tiny_image_data) + textwrap.dedent('''
        custom_imports = dict(imports=['mmadaptformer', 'nan_head'],
                              allow_failed_imports=False)
        model = dict(head=dict(type='NaNAtHead', nan_at=[1, 2],
                               nan_ranks=[1]))
        default_hooks = dict(non_finite_loss=dict(
            type='NonFiniteLossHook', skip=True, max_skips=1))
        train_cfg = dict(max_epochs=3, val_interval=100)
        ''')
    cfg = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, body)
    proc = run_ranks(['train.py', cfg, '--work-dir', tmp_path / 'w'],
                     2,
                     cwd=tmp_path,
                     port=free_port(),
                     env=dict(PYTHONPATH=nan_head_dir),
                     timeout=240,
                     check=False)
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    # 8 images, batch 4 per rank, 2 ranks: one iteration per epoch.
    assert re.search(
        r'Non-finite loss at iteration 1 \(epoch 1, batch 1 of the epoch\) '
        r'on rank\(s\) \[1\] of 2: .*\(finite on this rank\).*Skipped the '
        r'step \(1 in this epoch, 1 in total, at most 1\)', out), out[-3000:]
    errors = re.findall(
        r'NonFiniteLossError: Non-finite loss at iteration '
        r'2 .*max_skips=1 allows', out)
    assert len(errors) == 2, out[-3000:]  # both ranks, nobody hangs
