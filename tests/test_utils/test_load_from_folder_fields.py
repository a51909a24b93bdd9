# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint hook's ``filename_tmpl`` may put the step in a folder
(``ep{}/model.pth``: MMEngine 0.10.7's ``save_checkpoint`` makes the
folder, ``max_keep_ckpts`` removes the file), and a new run whose
``load_from`` is such a file of its own work dir wrote over it: the step
was only matched in the file's name, and the template's folder was taken
as text (``W/ep{}``). Also: the folder :func:`checkpoint_folder` gives for
a built hook is the one MMEngine's ``CheckpointHook.before_train`` makes
of it, before a first ``train()`` and before a second one (which joins
``out_dir`` with the work dir's name again)."""
import hashlib
import os
import pathlib

import pytest
from config_writers import stepped_run_config
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmadaptformer.engine import build_runner
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.load_from_overwrite import (checkpoint_folder,
                                                     hook_settings,
                                                     overwritten_load_from)


def _refused(load_from, hook, work_dir='/runs/x'):
    return overwritten_load_from(load_from, False, work_dir,
                                 [hook]) is not None


@pytest.mark.parametrize(
    'load_from, template, refused',
    [
        ('/runs/x/ep2/model.pth', 'ep{}/model.pth', True),
        ('/runs/x/run_12/epoch.pth', 'run_{}/epoch.pth', True),
        ('/runs/x/a/ep3/b/m.pth', 'a/ep{}/b/m.pth', True),
        ('/runs/x/002/m.pth', '{:03d}/m.pth', True),
        ('/runs/x/ep2_3/m.pth', 'ep{0}_{0}/m.pth', False),
        ('/runs/x/ep3_3/m.pth', 'ep{0}_{0}/m.pth', True),
        # Names '{}' never gives, or in another folder.
        ('/runs/x/ep02/model.pth', 'ep{}/model.pth', False),
        ('/runs/x/ep2/sub/model.pth', 'ep{}/model.pth', False),
        ('/runs/x/model.pth', 'ep{}/model.pth', False),
        ('/runs/y/ep2/model.pth', 'ep{}/model.pth', False),
        ('/runs/x/ep2/model.pth', 'ep{}/{}.pth', False),
        # A step never holds a '/', whatever its spec.
        ('/runs/x/sub/2.0.pth', '{:.1f}.pth', False),
        ('/runs/x/2.0.pth', '{:.1f}.pth', True),
        # A template outside the folder is written there.
        ('/runs/e_2.pth', '../e_{}.pth', True),
        ('/elsewhere/e_2.pth', '/elsewhere/e_{}.pth', True),
    ])
def test_a_step_in_the_templates_folder(load_from, template, refused):
    assert _refused(load_from, dict(filename_tmpl=template)) is refused


def test_a_step_in_the_folder_under_out_dir_and_through_a_link(tmp_path):
    hook = dict(filename_tmpl='ep{}/model.pth', out_dir='/ckpts')
    assert _refused('/ckpts/x/ep2/model.pth', hook)
    assert not _refused('/runs/x/ep2/model.pth', hook)
    work = tmp_path / 'x'
    (work / 'ep2').mkdir(parents=True)
    (work / 'ep2' / 'model.pth').write_bytes(b'mine')
    (tmp_path / 'alias').symlink_to(work)
    hook = dict(filename_tmpl='ep{}/model.pth')
    assert _refused(
        str(tmp_path / 'alias' / 'ep2' / 'model.pth'), hook, str(work))
    assert _refused(
        str(work / 'ep2' / 'model.pth'), hook, str(tmp_path / 'alias'))
    # A folder name with braces is text, not a field.
    assert _refused('/runs/{x}/ep2/model.pth', hook, '/runs/{x}')


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.linear(inputs)


@pytest.mark.parametrize('out_dir', ['o', 'work', None], ids=str)
def test_the_folder_is_the_one_before_train_makes(tmp_path, clean_loggers,
                                                  out_dir):
    """Guards kept behaviour for a str ``out_dir`` (before a first train and
    before a second); a ``pathlib.Path`` out_dir equal to the work dir is
    joined by MMEngine (a Path never equals its str), and was not here."""
    work = str(tmp_path / 'work')
    runner = Runner(model=_Toy(), work_dir=work)
    givens = [None] if out_dir is None else [
        str(tmp_path / out_dir), tmp_path / out_dir
    ]
    for given in givens:
        hook = CheckpointHook(out_dir=given)
        for _ in range(2):  # a first train(), then a second
            expected = checkpoint_folder(runner.work_dir,
                                         hook_settings([hook])[0]['out_dir'])
            hook.before_train(runner)
            assert expected == str(hook.out_dir), (given, hook.out_dir)


def _md5(path) -> str:
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


def test_a_run_is_refused_its_own_stepped_folder(clean_loggers, tmp_path,
                                                 tiny_image_data,
                                                 last_checkpoint_run):
    """A real run with ``filename_tmpl='ep{}/model.pth'`` from
    ``W/ep2/model.pth`` in work dir ``W`` wrote its own ``ep2/model.pth``
    over it; now it is refused before it loads or saves anything."""
    cfg = stepped_run_config(tmp_path, tiny_image_data,
                             last_checkpoint_run['named'])
    work, start = tmp_path / 'W', tmp_path / 'W' / 'ep2' / 'model.pth'
    digest = _md5(start)
    runner = build_runner(cfg)
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value).startswith(
        f'load_from {start}: this new run writes its ep{{}}/model.pth '
        f'checkpoints into its work dir {work}, where they can replace the '
        'file it starts from')
    assert _md5(start) == digest and runner.iter == 0
    assert sorted(os.listdir(work / 'ep2')) == ['model.pth']
    assert not pathlib.Path(work, 'ep1').exists()
