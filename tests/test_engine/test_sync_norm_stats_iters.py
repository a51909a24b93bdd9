# Copyright (c) mmadaptformer contributors. All rights reserved.
"""SyncNormStatsHook under an ``IterBasedTrainLoop`` (2-process CPU DDP):
the head's BatchNorm statistics agree across ranks when validation
starts, although no training epoch ended before it."""
import json
import os
import textwrap

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_ranks,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from tool_runners import free_port

from mmadaptformer.utils import safe_torch_load

# Records each rank's head BatchNorm statistics as validation begins,
# after the NORMAL hooks' before_val_epoch (SyncNormStatsHook's).
PROBE_SOURCE = textwrap.dedent('''
    import json
    import os.path as osp

    from mmengine.dist import get_rank
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper
    from mmengine.registry import HOOKS


    @HOOKS.register_module(force=True)
    class ValNormProbe(Hook):
        priority = 'LOWEST'

        def before_val_epoch(self, runner):
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            bn = model.cls_head.bn
            with open(osp.join(runner.work_dir,
                               f'val_bn_rank{get_rank()}.json'), 'a') as f:
                f.write(json.dumps(dict(
                    iter=runner.iter, training=bn.training,
                    mean=bn.running_mean.tolist(),
                    var=bn.running_var.tolist())) + '\\n')
''')

ITERS = textwrap.dedent('''
    train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2,
                     val_interval=1)
    param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=0.,
                            by_epoch=False)]
    log_processor = dict(by_epoch=False)
    default_hooks = dict(checkpoint=dict(interval=1, by_epoch=False),
                         logger=dict(interval=1))
    ''')


@pytest.fixture(scope='module')
def iter_run(tmp_path_factory, tiny_video_data):
    """A 2-rank, 2-iteration run validating and saving after each
    iteration: ``(work_dir, records)``, ``records[rank]`` the head's
    statistics at each validation's start."""
    root = tmp_path_factory.mktemp('sync_norm_iters')
    (root / 'val_norm_probe.py').write_text(PROBE_SOURCE)
    pretrained = str(root / 'stock.pth')
    save_stock_video_checkpoint(pretrained)
    extra = (
        "custom_imports = dict(imports=['mmadaptformer', "
        "'val_norm_probe'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='AdapterHook', adapter_only_checkpoint="
        "True), dict(type='ValNormProbe')]\n" + ITERS)
    cfg = write_config(
        root / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + pretrained_cfg(pretrained) + extra)
    work = root / 'work'
    path = os.pathsep.join(
        p for p in (str(root), os.environ.get('PYTHONPATH')) if p)
    run_ranks(['train.py', cfg, '--work-dir', work, '--seed', '0'],
              2,
              cwd=root,
              port=free_port(),
              env=dict(PYTHONPATH=path),
              timeout=400)
    records = [[
        json.loads(line)
        for line in open(work / f'val_bn_rank{r}.json').read().splitlines()
    ] for r in range(2)]
    return work, records


def test_iteration_based_training_syncs_before_each_validation(iter_run):
    """Guards a hook that syncs only at the end of a training epoch, which
    an IterBasedTrainLoop reaches once, after its last validation: each
    rank would validate with its own shard's statistics."""
    _, records = iter_run
    # A validation after each of the 2 iterations, the head still in train
    # mode (its statistics updated by the iteration).
    assert [r['iter'] for r in records[0]] == [1, 2]
    assert all(r['training'] for r in records[0])
    for first, second in zip(*records):
        assert first['iter'] == second['iter']
        assert first['mean'] == second['mean'], first['iter']
        assert first['var'] == second['var'], first['iter']
    assert records[0][0]['mean'] != records[0][1]['mean']


def test_an_iteration_checkpoint_holds_the_statistics_validated_there(
        iter_run):
    """What rank 0 saves agrees with the other ranks: iter_2.pth, saved
    after the last iteration (CheckpointHook saves in after_train_iter,
    before validation begins), holds the averaged statistics the run
    validated (and ended with) at iteration 2, not rank 0's own (it did,
    when the hook averaged only before validation)."""
    work, records = iter_run
    saved = safe_torch_load(str(work / 'iter_2.pth'))['state_dict']
    assert saved['cls_head.bn.running_mean'].tolist() == \
        records[0][1]['mean']
