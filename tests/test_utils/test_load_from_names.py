# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which ``load_from`` files a new training run's checkpoint hook would
write over (:func:`overwritten_load_from`): the names MMEngine's
``CheckpointHook`` gives its files, in the folder it saves in. The tools'
and the Runners' refusals: ``tests/test_tools/
test_load_from_overwrite.py``, ``tests/test_engine/
test_load_from_overwrite_runner.py``."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.hooks import CheckpointHook

from mmadaptformer.engine import AtomicCheckpointHook
from mmadaptformer.utils.load_from_overwrite import (checkpoint_folder,
                                                     config_checkpoint_hooks,
                                                     hook_settings,
                                                     overwritten_load_from)


def _refused(load_from, hook=None, work_dir='/runs/x', resume=False):
    return overwritten_load_from(load_from, resume, work_dir,
                                 [hook or {}]) is not None


@pytest.mark.parametrize(
    'load_from, hook, refused',
    [
        ('/runs/x/epoch_7.pth', {}, True),
        ('/runs/x/../x/epoch_2.pth', {}, True),
        ('/runs/x/epoch_best.pth', {}, False),
        ('/runs/x/mine.pth', {}, False),
        ('/runs/x/sub/epoch_2.pth', {}, False),
        ('/runs/x/last_checkpoint', {}, True),
        ('/runs/x/iter_8.pth', dict(by_epoch=False), True),
        ('/runs/x/epoch_2.pth', dict(by_epoch=False), False),
        ('/runs/x/ckpt_002.pth', dict(filename_tmpl='ckpt_{:03d}.pth'), True),
        ('/runs/x/ckpts/e_3.pth', dict(filename_tmpl='ckpts/e_{}.pth'), True),
        ('/runs/x/e_3.pth', dict(filename_tmpl='ckpts/e_{}.pth'), False),
        # MMEngine replaces a '/' of the best file's name.
        ('/runs/x/best_acc_ckpts_e_3.pth',
         dict(filename_tmpl='ckpts/e_{}.pth', save_best='acc'), True),
        ('/runs/x/best_accuracy_top1_epoch_2.pth', dict(save_best='auto'),
         True),
        ('/runs/x/best_accuracy_top1_epoch_2.pth', {}, False),
        # out_dir: the hook saves in out_dir/<the work dir's name>.
        ('/ckpts/x/epoch_2.pth', dict(out_dir='/ckpts'), True),
        ('/runs/x/epoch_2.pth', dict(out_dir='/ckpts'), False),
        # ... but last_checkpoint stays in the work dir.
        ('/runs/x/last_checkpoint', dict(out_dir='/ckpts'), True),
        ('/runs/x/epoch_2.pth', dict(out_dir='/runs/x'), True),
        ('s3://bucket/x/epoch_2.pth', dict(out_dir='s3://bucket'), False),
        ('http://host/runs/x/epoch_2.pth', {}, False),
    ])
def test_the_names_a_checkpoint_hook_writes(load_from, hook, refused):
    assert _refused(load_from, hook) is refused


def test_resume_and_runs_without_a_checkpoint_hook_are_left_alone():
    assert not _refused('/runs/x/epoch_2.pth', resume=True)
    assert overwritten_load_from('/runs/x/epoch_2.pth', False, '/runs/x',
                                 []) is None
    assert not _refused(None)


def test_a_link_is_judged_by_its_name_and_by_its_file(tmp_path):
    work = tmp_path / 'x'
    work.mkdir()
    (work / 'epoch_2.pth').write_bytes(b'mine')
    (tmp_path / 'start.pth').symlink_to(work / 'epoch_2.pth')
    (work / 'epoch_3.pth').symlink_to(tmp_path / 'start.pth')
    assert _refused(str(tmp_path / 'start.pth'), work_dir=str(work))
    assert _refused(str(work / 'epoch_3.pth'), work_dir=str(work))
    # The work dir through a link to it.
    (tmp_path / 'alias').symlink_to(work)
    assert _refused(
        str(work / 'epoch_2.pth'), work_dir=str(tmp_path / 'alias'))


def test_the_settings_of_a_config_and_of_built_hooks():
    assert config_checkpoint_hooks(Config()) == [{}]
    assert config_checkpoint_hooks(
        Config(dict(default_hooks=dict(checkpoint=None)))) == []
    hook = dict(type='CheckpointHook', by_epoch=False)
    assert config_checkpoint_hooks(
        Config(dict(default_hooks=dict(checkpoint=hook)))) == [hook]
    assert hook_settings([
        AtomicCheckpointHook(by_epoch=False, out_dir='/ckpts'),
        object(),
        CheckpointHook(save_best='acc')
    ]) == [
        dict(
            by_epoch=False,
            filename_tmpl='iter_{}.pth',
            out_dir='/ckpts',
            save_best=None),
        dict(
            by_epoch=True,
            filename_tmpl='epoch_{}.pth',
            out_dir=None,
            save_best=['acc'])
    ]
    assert checkpoint_folder('/runs/x/', '/ckpts') == '/ckpts/x'
    assert checkpoint_folder('/runs/x', None) == '/runs/x'


def test_the_line_names_the_file_the_work_dir_and_another_one():
    line = overwritten_load_from('runs/x/ckpts/e_3.pth', False, 'runs/x',
                                 [dict(filename_tmpl='ckpts/e_{}.pth')])
    assert line == (
        'load_from runs/x/ckpts/e_3.pth: this new run writes its '
        'ckpts/e_{}.pth checkpoints into its work dir runs/x (checkpoints in '
        f'{osp.abspath("runs/x/ckpts")}), where they can replace the file it '
        'starts from (now or on a later --resume). Train in another work dir'
        ' (--work-dir runs/x_from_e_3); --resume runs/x/ckpts/e_3.pth '
        'continues the run that wrote it instead.')
    line = overwritten_load_from('/my runs/x/last_checkpoint', False,
                                 '/my runs/x', [dict(out_dir='/ckpts')])
    assert line == (
        'load_from /my runs/x/last_checkpoint: this new run writes its '
        'last_checkpoint record into its work dir /my runs/x, where it can '
        'replace the file it starts from (now or on a later --resume). Train '
        "in another work dir (--work-dir '/my runs/x_from_last_checkpoint'); "
        "--resume '/my runs/x/last_checkpoint' continues the run that wrote "
        'it instead.')


@pytest.mark.parametrize(
    'name, hook',
    [
        # Names a step (1, 2, ...) formatted by '{}' never gives.
        ('epoch_2_5.pth', {}),
        ('epoch_-1.pth', {}),
        ('epoch_ .pth', {}),
        ('epoch_1,2.pth', {}),
        ('epoch_02.pth', {}),
        ('epoch_0.pth', {}),
        ('best_accuracy_top1_epoch_02.pth', dict(save_best='auto')),
        # '{:03d}' pads to three digits.
        ('ckpt_2.pth', dict(filename_tmpl='ckpt_{:03d}.pth')),
        ('ckpt_+02.pth', dict(filename_tmpl='ckpt_{:03d}.pth')),
        ('e_a.pth', dict(filename_tmpl='e_{:#x}.pth')),
        ('e_12_13.pth', dict(filename_tmpl='e_{0}_{0}.pth')),
        # A template format(step) cannot fill: the hook fails before saving.
        ('e_2.pth', dict(filename_tmpl='e_{step}.pth')),
    ])
def test_names_the_hook_never_writes_are_loaded(name, hook):
    """``epoch_2_5.pth`` and the others were refused: a step matched any of
    ``-+ ,_`` and digits."""
    assert not _refused(f'/runs/x/{name}', hook)


@pytest.mark.parametrize('name, hook', [
    ('epoch_12.pth', {}),
    ('ckpt_1234.pth', dict(filename_tmpl='ckpt_{:03d}.pth')),
    ('e_0xa.pth', dict(filename_tmpl='e_{:#x}.pth')),
    ('e_+1,000.pth', dict(filename_tmpl='e_{:+05,d}.pth')),
    ('e_12_12.pth', dict(filename_tmpl='e_{0}_{0}.pth')),
    ('e_2.0.pth', dict(filename_tmpl='e_{:.1f}.pth')),
    ('latest.pth', dict(filename_tmpl='latest.pth')),
])
def test_names_a_format_spec_writes_are_refused(name, hook):
    """Guards kept behaviour: what ``format(step)`` gives is refused."""
    assert _refused(f'/runs/x/{name}', hook)
