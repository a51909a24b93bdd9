# Copyright (c) mmadaptformer contributors. All rights reserved.
import pytest
import torch
from mmengine.config import Config
from tool_runners import free_port

from mmadaptformer.utils import setup_cpu_distributed


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')
def test_setup_cpu_distributed_needs_launcher_env(monkeypatch):
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg, 'none') is False
    assert 'model_wrapper_cfg' not in cfg
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match='torchrun'):
        setup_cpu_distributed(cfg, 'pytorch')
    with pytest.raises(ValueError, match="'mpi'"):
        setup_cpu_distributed(cfg, 'mpi')


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')
@pytest.mark.parametrize('launcher, starter', [
    ('pytorch', 'torchrun sets in each process it starts (tools/dist_train.sh '
     'and tools/dist_test.sh run it)'),
    ('slurm', 'srun sets in a SLURM job step (tools/slurm_train.sh and '
     'tools/slurm_test.sh run it)'),
])
def test_setup_cpu_distributed_names_every_way_to_start(
        monkeypatch, launcher, starter):
    """Direct API callers reach it too: before, the message named
    tools/dist_train.sh alone (not dist_test.sh nor the slurm scripts),
    and launcher='slurm' without srun's variables raised a bare
    KeyError('SLURM_PROCID')."""
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT',
                'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'):
        monkeypatch.delenv(key, raising=False)
    keys = ("['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT']"
            if launcher == 'pytorch' else
            "['SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST']")
    with pytest.raises(RuntimeError) as refused:
        setup_cpu_distributed(Config(dict(env_cfg=dict())), launcher)
    assert str(refused.value) == (
        f'launcher={launcher!r} needs the environment variables {keys}, '
        f'which {starter}; start this process that way, or set them '
        'yourself.')
    with pytest.raises(ValueError) as refused:
        setup_cpu_distributed(Config(), 'mpi')
    assert 'tools/dist_test.sh' in str(refused.value)
    assert 'tools/slurm_test.sh' in str(refused.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')
def test_setup_cpu_distributed_single_process_group(monkeypatch):
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(free_port()))
    cfg = Config(
        dict(
            env_cfg=dict(dist_cfg=dict(backend='nccl')),
            find_unused_parameters=True))
    try:
        assert setup_cpu_distributed(cfg, 'pytorch') is True
        assert torch.distributed.get_backend() == 'gloo'
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg == dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=True,
            device_ids=None)
        # A user's own DDP wrapper config is kept, minus the device ids.
        cfg2 = Config(
            dict(
                model_wrapper_cfg=dict(
                    type='MMDistributedDataParallel', device_ids=[0])))
        setup_cpu_distributed(cfg2, 'pytorch')
        assert cfg2.model_wrapper_cfg.device_ids is None
    finally:
        torch.distributed.destroy_process_group()
