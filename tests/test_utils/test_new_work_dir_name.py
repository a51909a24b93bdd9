# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One name for the work dir advised to a new run from a checkpoint's
weights: ``<work_dir>_from_<file stem>``, as the resume messages
(``engine/hooks/new_run_args.py``) and the ``load_from`` refusal
(``utils/load_from_overwrite.py``) both advise it.

The refusal built the name itself, without the resume messages' ``_new``:
for a ``load_from`` reached through a link named like the advised folder
(``x_from_epoch_2 -> x``), it advised ``--work-dir x_from_epoch_2``, the
work dir it refused, through the link."""
import os

from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmadaptformer.engine.hooks.new_run_args import new_run_args, new_work_dir
from mmadaptformer.utils.load_from_overwrite import overwritten_load_from
from mmadaptformer.utils.new_work_dir_name import new_work_dir_name


class _Tiny(BaseModel):

    def forward(self, *args, **kwargs):
        return {}


def test_the_name_beside_the_work_dir_and_never_the_checkpoint_folder(
        tmp_path):
    """Guards kept behaviour (the resume messages' rule, now shared)."""
    assert new_work_dir_name('runs/x/', 'runs/x/epoch_2.pth') == \
        'runs/x_from_epoch_2'
    assert new_work_dir_name('runs/x', None) == 'runs/x_from_file'
    # A resume from <x>_from_epoch_2/epoch_2.pth into <x> itself.
    held = str(tmp_path / 'x_from_epoch_2' / 'epoch_2.pth')
    assert new_work_dir_name(str(tmp_path / 'x'), held) == \
        f'{tmp_path}/x_from_epoch_2_new'


def test_resume_advice_and_refusal_name_one_folder(clean_loggers, tmp_path):
    """Guards kept behaviour: both places advise the same folder."""
    work_dir = str(tmp_path / 'x')
    runner = Runner(model=_Tiny(), work_dir=work_dir)
    file = f'{work_dir}/epoch_2.pth'
    refusal = overwritten_load_from(file, False, work_dir, [{}])
    assert new_work_dir(runner, file) == f'{work_dir}_from_epoch_2'
    assert f'(--work-dir {work_dir}_from_epoch_2)' in refusal
    assert new_run_args(runner, 'the checkpoint').startswith(
        f'--work-dir {work_dir}_from_file --cfg-options load_from=FILE')


def test_the_refusal_never_advises_the_work_dir_it_refuses(
        tmp_path, monkeypatch):
    os.mkdir(tmp_path / 'x')
    (tmp_path / 'x' / 'epoch_2.pth').write_bytes(b'weights')
    os.symlink('x', tmp_path / 'x_from_epoch_2')
    monkeypatch.chdir(tmp_path)
    line = overwritten_load_from('x_from_epoch_2/epoch_2.pth', False, 'x',
                                 [{}])
    assert line.startswith(
        'load_from x_from_epoch_2/epoch_2.pth: this new run writes its '
        'epoch_{}.pth checkpoints into its work dir x, where they can '
        'replace the file it starts from (now or on a later --resume). Train '
        'in another work dir (--work-dir x_from_epoch_2_new); ')


def test_a_work_dir_named_dot_is_named_by_its_folder(tmp_path, monkeypatch):
    """``--work-dir .`` was advised ``._from_epoch_2``: a hidden folder
    inside the work dir."""
    work = tmp_path / 'W'
    (work / 'sub').mkdir(parents=True)
    monkeypatch.chdir(work)
    assert new_work_dir_name('.', 'epoch_2.pth') == '../W_from_epoch_2'
    assert new_work_dir_name('./', None) == '../W_from_file'
    monkeypatch.chdir(work / 'sub')
    assert new_work_dir_name('..', '../epoch_2.pth') == '../../W_from_epoch_2'
    # 'sub/..' from W/sub is W/sub itself.
    assert new_work_dir_name('sub/..', None) == '../sub_from_file'
    line = overwritten_load_from('../epoch_2.pth', False, '..', [{}])
    assert '(--work-dir ../../W_from_epoch_2)' in line
