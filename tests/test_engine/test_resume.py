# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--resume auto`` (:mod:`mmadaptformer.engine.resume`): the newest
checkpoint that loads, damaged files kept, no silent restart on top of a
run's checkpoints, moved work dirs. Real checkpoints of a real
``tools/train.py`` run, damaged the ways runs get damaged."""
import hashlib
import os
import os.path as osp
import shutil

import pytest
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, run_tool, write_config
from mmengine.config import Config

from mmadaptformer.engine.resume import (ALLOW_RESTART_FLAG,
                                         NoResumableCheckpointError,
                                         apply_auto_resume,
                                         find_resume_checkpoint)
from mmadaptformer.utils import safe_torch_load

EPOCHS = ('epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_image_data):
    """A finished 3-epoch run: ``(config, work_dir)``."""
    root = tmp_path_factory.mktemp('resume')
    body = image_data_cfg(tiny_image_data) + (
        'train_cfg = dict(max_epochs=3, val_interval=10)\n'
        "param_scheduler = [dict(type='CosineAnnealingLR', T_max=4, "
        'eta_min=0., by_epoch=True)]\n'
        'default_hooks = dict(checkpoint=dict(max_keep_ckpts=-1))\n')
    cfg = write_config(root / 'cfg.py', TINY_IMAGE_CONFIG, body)
    work = root / 'work'
    run_tool(['train.py', cfg, '--work-dir', work, '--seed', '0'], cwd=root)
    assert sorted(n for n in os.listdir(work)
                  if n.endswith('.pth')) == list(EPOCHS)
    return cfg, work


@pytest.fixture
def work(tmp_path, trained):
    """A private copy of the finished run's work dir."""
    copy = tmp_path / 'work'
    shutil.copytree(trained[1], copy)
    # Like the original: last_checkpoint holds an absolute path.
    (copy / 'last_checkpoint').write_text(str(copy / 'epoch_3.pth'))
    return copy


def _digests(folder):
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in os.listdir(folder)
        if osp.isfile(folder / name) and '.pth' in name
    }


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def test_truncated_newest_falls_back_and_is_kept(work):
    _truncate(work / 'epoch_3.pth')
    damaged = (work / 'epoch_3.pth').read_bytes()
    plan = find_resume_checkpoint(str(work))
    assert plan.checkpoint == str(work / 'epoch_2.pth')
    assert len(plan.skipped) == 1
    assert str(work / 'epoch_3.pth') in plan.skipped[0]
    assert 'truncated' in plan.skipped[0] or 'corrupt' in plan.skipped[0]
    # Kept under a new name, byte for byte; the resumed run cannot
    # overwrite it.
    assert plan.renamed == [(str(work / 'epoch_3.pth'),
                             str(work / 'epoch_3.pth.corrupt'))]
    assert (work / 'epoch_3.pth.corrupt').read_bytes() == damaged
    assert not (work / 'epoch_3.pth').exists()
    # A second damaged epoch_3 does not clobber the first kept one.
    (work / 'epoch_3.pth').write_bytes(b'x')
    plan = find_resume_checkpoint(str(work))
    assert plan.renamed[0][1] == str(work / 'epoch_3.pth.corrupt.1')
    assert (work / 'epoch_3.pth.corrupt').read_bytes() == damaged


def test_last_checkpoint_naming_a_missing_file_falls_back(work):
    os.remove(work / 'epoch_3.pth')
    plan = find_resume_checkpoint(str(work))
    assert plan.checkpoint == str(work / 'epoch_2.pth')
    assert 'epoch_3.pth' in plan.skipped[0]
    assert 'does not exist' in plan.skipped[0]
    assert plan.renamed == []


def test_without_last_checkpoint_the_newest_numbered_one_wins(work):
    os.remove(work / 'last_checkpoint')
    plan = find_resume_checkpoint(str(work))
    assert plan.checkpoint == str(work / 'epoch_3.pth')
    assert 'last_checkpoint does not exist' in plan.skipped[0]


def test_a_newer_checkpoint_than_last_checkpoint_wins(work):
    # Killed after epoch_3.pth was complete, before last_checkpoint moved.
    (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    plan = find_resume_checkpoint(str(work))
    assert plan.checkpoint == str(work / 'epoch_3.pth')
    assert 'newer' in plan.skipped[0]


@pytest.mark.parametrize('original_survives', [True, False])
def test_copied_or_moved_work_dir_resumes_from_its_own_files(
        tmp_path, work, original_survives):
    moved = tmp_path / 'elsewhere' / 'work'
    shutil.copytree(work, moved)
    if not original_survives:
        shutil.rmtree(work)
    plan = find_resume_checkpoint(str(moved))
    assert plan.checkpoint == str(moved / 'epoch_3.pth')
    assert str(work / 'epoch_3.pth') in plan.skipped[0]
    assert ('outside the work dir'
            if original_survives else 'does not exist') in plan.skipped[0]


def test_nothing_loads_refuses_to_start_over_and_touches_nothing(work):
    for name in EPOCHS:
        _truncate(work / name)
    before = _digests(work)
    with pytest.raises(NoResumableCheckpointError) as info:
        find_resume_checkpoint(str(work))
    message = str(info.value)
    assert ALLOW_RESTART_FLAG in message
    assert all(name in message for name in EPOCHS)
    assert _digests(work) == before

    plan = find_resume_checkpoint(str(work), allow_restart=True)
    assert plan.checkpoint is None
    assert sorted(new for _, new in plan.renamed) == [
        str(work / f'{name}.corrupt') for name in EPOCHS
    ]
    assert {k[:-len('.corrupt')]: v
            for k, v in _digests(work).items()} == before


def test_code_carrying_newest_checkpoint_is_skipped_not_run(work):
    import pickle
    marker = work / 'ran'

    class Payload:

        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    (work / 'epoch_4.pth').write_bytes(pickle.dumps({'x': Payload()}))
    plan = find_resume_checkpoint(str(work))
    assert plan.checkpoint == str(work / 'epoch_3.pth')
    assert 'epoch_4.pth' in plan.skipped[1] and not marker.exists()


def test_only_global_rank_zero_renames(work, monkeypatch):
    # Every rank of a job decides alike; one renames.
    _truncate(work / 'epoch_3.pth')
    for name in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        monkeypatch.delenv(name, raising=False)
    cfg = Config(dict(work_dir=str(work), launcher='slurm'))
    monkeypatch.setenv('SLURM_PROCID', '1')
    plan = apply_auto_resume(cfg)
    assert cfg.resume is True and cfg.load_from == str(work / 'epoch_2.pth')
    assert plan.renamed == [] and (work / 'epoch_3.pth').exists()
    monkeypatch.setenv('SLURM_PROCID', '0')
    plan = apply_auto_resume(cfg)
    assert cfg.load_from == str(work / 'epoch_2.pth')
    assert plan.renamed == [(str(work / 'epoch_3.pth'),
                             str(work / 'epoch_3.pth.corrupt'))]


def test_a_run_of_its_own_in_a_slurm_task_renames(work, monkeypatch):
    """``--launcher none`` in task 1 of a SLURM step (a packed sweep: one
    run per task, each in its own work dir): the run is its own rank 0 and
    keeps its damaged checkpoint under a new name. Before, SLURM_PROCID=1
    made it leave the file for a rank 0 that was another run."""
    _truncate(work / 'epoch_3.pth')
    monkeypatch.setenv('SLURM_PROCID', '1')
    cfg = Config(dict(work_dir=str(work), launcher='none'))
    plan = apply_auto_resume(cfg)
    assert cfg.load_from == str(work / 'epoch_2.pth')
    assert plan.renamed == [(str(work / 'epoch_3.pth'),
                             str(work / 'epoch_3.pth.corrupt'))]


def test_empty_or_fresh_work_dir_starts_from_scratch(tmp_path):
    assert find_resume_checkpoint(str(tmp_path / 'missing')).checkpoint \
        is None
    (tmp_path / 'logs').mkdir()
    plan = find_resume_checkpoint(str(tmp_path))
    assert plan.checkpoint is None and plan.skipped == []


def test_tool_resumes_past_a_truncated_checkpoint_without_last_checkpoint(
        trained, work):
    # The case that used to print "Auto resumed from the latest checkpoint
    # None." and then overwrite the old run's checkpoints with new weights.
    cfg = trained[0]
    os.remove(work / 'last_checkpoint')
    _truncate(work / 'epoch_3.pth')
    before = _digests(work)
    proc = run_tool([
        'train.py', cfg, '--work-dir', work, '--seed', '0', '--resume', 'auto',
        '--cfg-options', 'train_cfg.max_epochs=4'
    ],
                    cwd=work.parent)
    assert 'resumed epoch: 2, iter: 4' in proc.stdout, proc.stdout[-3000:]
    assert 'latest checkpoint None' not in proc.stdout
    assert f'{work / "epoch_3.pth"} cannot be resumed from' in proc.stdout
    after = _digests(work)
    # The old run's files are all still there, byte for byte (the damaged
    # one under its new name); the resumed run wrote epochs 3 and 4.
    assert after['epoch_1.pth'] == before['epoch_1.pth']
    assert after['epoch_2.pth'] == before['epoch_2.pth']
    assert after['epoch_3.pth.corrupt'] == before['epoch_3.pth']
    for name in ('epoch_3.pth', 'epoch_4.pth'):
        assert safe_torch_load(str(work / name))['meta']['epoch'] == int(
            name[6])


def test_tool_refuses_to_overwrite_a_run_it_cannot_resume(trained, work):
    cfg = trained[0]
    os.remove(work / 'last_checkpoint')
    for name in EPOCHS:
        _truncate(work / name)
    before = _digests(work)
    args = ['train.py', cfg, '--work-dir', work, '--seed', '0', '--resume']
    proc = run_tool(args, cwd=work.parent, check=False)
    assert proc.returncode != 0
    # One line, as the tools print refusals: the reasons, what to do.
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith('NoResumableCheckpointError: --resume auto found '
                           'no checkpoint to resume from'), line
    assert all(f'{work / name} cannot be resumed from' in line
               for name in EPOCHS), line
    assert f'--resume auto {ALLOW_RESTART_FLAG}' in line
    assert 'Traceback' not in proc.stdout  # a refusal, not a crash
    assert _digests(work) == before

    # Told so explicitly, it starts over and keeps the damaged files.
    proc = run_tool(args + ['auto', ALLOW_RESTART_FLAG], cwd=work.parent)
    assert 'training from scratch' in proc.stdout
    after = _digests(work)
    for name in EPOCHS:
        assert after[f'{name}.corrupt'] == before[name]
        assert safe_torch_load(str(work / name))['meta']['epoch'] == int(
            name[6])
