# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine checkpoints load with weights_only=True; code is refused."""
import glob
import os
import os.path as osp
from functools import partial

import pytest
import torch
import torch.nn as nn
from helpers import REPO_ROOT, run_fresh_python
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner

from mmadaptformer.utils import CheckpointLoadError, safe_torch_load


class _TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='loss'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return [dict(pred=v) for v in out]


class _TinyMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        return dict(count=float(sum(results)))


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory):
    """A checkpoint written by a real MMEngine Runner: message hub with
    HistoryBuffers and numpy scalars, optimizer and scheduler state."""
    work_dir = str(tmp_path_factory.mktemp('runner'))
    data = [dict(inputs=torch.randn(2), labels=0) for _ in range(8)]
    loader = dict(
        dataset=data,
        batch_size=4,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'))
    runner = Runner(
        model=_TinyModel(),
        work_dir=work_dir,
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=[_TinyMetric()],
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='CosineAnnealingLR', T_max=2),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        experiment_name='checkpoint_loading_test')
    runner.train()
    from mmengine.logging import MessageHub, MMLogger
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return osp.join(work_dir, 'epoch_2.pth')


# ``python -c CODE`` in a fresh process; stdout and stderr together.
_python = partial(run_fresh_python, timeout=120, separate_stderr=False)


def test_plain_torch_load_refuses_without_allow_list(mmengine_checkpoint):
    """The gap this package closes (STACK.md gap 2)."""
    proc = _python(f"""
        import torch
        torch.load({mmengine_checkpoint!r})
    """)
    assert proc.returncode != 0
    assert 'HistoryBuffer' in proc.stdout or 'getattr' in proc.stdout


def test_fresh_process_loads_mmengine_checkpoint(mmengine_checkpoint):
    # A fresh interpreter: HistoryBuffer has not filled its class-level
    # statistics table yet, exactly as on a real resume.
    proc = _python(f"""
        import mmadaptformer, torch
        from mmengine.runner import CheckpointLoader
        ckpt = CheckpointLoader.load_checkpoint({mmengine_checkpoint!r})
        hub = ckpt['message_hub']
        loss = hub['log_scalars']['train/loss']
        print('epoch', ckpt['meta']['epoch'], 'mean', loss.mean())
        print('keys', sorted(ckpt))
        # torch's own default stays weights_only=True.
        ckpt2 = torch.load({mmengine_checkpoint!r})
        print('same', torch.equal(ckpt2['state_dict']['linear.weight'],
                                  ckpt['state_dict']['linear.weight']))
    """)
    assert proc.returncode == 0, proc.stdout
    assert 'epoch 2 mean' in proc.stdout
    assert ("keys ['message_hub', 'meta', 'optimizer', 'param_schedulers', "
            "'state_dict']") in proc.stdout
    assert 'same True' in proc.stdout


class _SystemPayload:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class _GetattrPayload:

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init_subclass__'))


@pytest.mark.parametrize('loader', ['safe_torch_load', 'CheckpointLoader'])
def test_checkpoint_carrying_code_is_refused(tmp_path, loader):
    marker = tmp_path / 'payload_ran'
    path = str(tmp_path / 'evil.pth')
    torch.save(
        {
            'state_dict': {
                'w': torch.zeros(1)
            },
            'meta': _SystemPayload(marker)
        }, path)
    with pytest.raises(CheckpointLoadError) as err:
        if loader == 'safe_torch_load':
            safe_torch_load(path)
        else:
            CheckpointLoader.load_checkpoint(path)
    assert path in str(err.value)
    assert 'system' in str(err.value)
    assert 'nothing in it was executed' in str(err.value)
    assert not marker.exists()
    # Plain torch.load keeps refusing too: weights_only was not switched off.
    with pytest.raises(Exception, match='system'):
        torch.load(path)
    assert not marker.exists()


def test_getattr_is_only_allowed_for_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'evil_getattr.pth')
    torch.save({'x': _GetattrPayload()}, path)
    with pytest.raises(CheckpointLoadError, match='__init_subclass__'):
        safe_torch_load(path)


def test_truncated_checkpoint_names_the_file(tmp_path, mmengine_checkpoint):
    data = open(mmengine_checkpoint, 'rb').read()
    path = str(tmp_path / 'truncated.pth')
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(
            CheckpointLoadError, match='truncated or corrupted') as err:
        safe_torch_load(path)
    assert path in str(err.value)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        safe_torch_load(str(tmp_path / 'missing.pth'))


def test_weights_only_is_never_switched_off():
    sources = glob.glob(
        osp.join(REPO_ROOT, 'mmadaptformer', '**', '*.py'), recursive=True)
    sources += glob.glob(
        osp.join(REPO_ROOT, 'tools', '**', '*.py'), recursive=True)
    assert sources
    for path in sources:
        text = open(path).read()
        assert 'weights_only=False' not in text, path
        # The only mention: unsetting it while weights_only is forced on.
        for line in text.splitlines():
            if 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' in line:
                assert path.endswith('checkpoint_schemes.py'), path
                assert line.startswith('_FORCE_NO = '), line
        assert 'os.environ[_FORCE_NO]' not in text, path
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
