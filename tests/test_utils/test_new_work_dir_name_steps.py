# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The work dir advised for a new run from a checkpoint whose step is in a
folder (``filename_tmpl='ep{}/model.pth'``: ``W/ep2/model.pth``) was named
by the file alone, ``W_from_model``: the step was lost, and the files of
two steps were advised one folder. It is now named by the file's path
under the folder the checkpoints are saved in (``W_from_ep2_model``); a
file in that folder itself keeps its name (``W_from_epoch_2``)."""
import re

import pytest
from config_writers import stepped_run_config
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmadaptformer.engine import build_runner
from mmadaptformer.engine.hooks.new_run_args import new_work_dir
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.load_from_overwrite import overwritten_load_from
from mmadaptformer.utils.new_work_dir_name import new_work_dir_name


def _advised(load_from, hook, work_dir='/runs/x'):
    line = overwritten_load_from(load_from, False, work_dir, [hook])
    return re.search(r'\(--work-dir (\S+)\)', line)[1]


def test_the_step_in_the_templates_folder_is_kept():
    hook = dict(filename_tmpl='ep{}/model.pth')
    assert _advised('/runs/x/ep2/model.pth', hook) == '/runs/x_from_ep2_model'
    assert _advised('/runs/x/ep3/model.pth', hook) == '/runs/x_from_ep3_model'
    assert _advised('/runs/x/a/ep3/b/m.pth',
                    dict(filename_tmpl='a/ep{}/b/m.pth')) == \
        '/runs/x_from_a_ep3_b_m'
    # Under out_dir/<the work dir's name>, where the hook saves.
    assert _advised('/ckpts/x/ep2/model.pth',
                    dict(hook, out_dir='/ckpts')) == '/runs/x_from_ep2_model'


def test_through_a_link_to_the_folder(tmp_path):
    """A link to the work dir names the step as the folder does; a link to
    the file itself keeps the name it was given (``W_from_start``)."""
    work = tmp_path / 'W'
    (work / 'ep2').mkdir(parents=True)
    (work / 'ep2' / 'model.pth').write_bytes(b'weights')
    (tmp_path / 'alias').symlink_to(work)
    (tmp_path / 'start.pth').symlink_to(work / 'ep2' / 'model.pth')
    hook = dict(filename_tmpl='ep{}/model.pth')
    assert _advised(
        str(tmp_path / 'alias' / 'ep2' / 'model.pth'), hook,
        str(work)) == f'{work}_from_ep2_model'
    assert _advised(str(tmp_path / 'start.pth'), hook, str(work)) == \
        f'{work}_from_start'


def test_names_of_files_in_the_folder_itself_are_kept():
    """Guards kept behaviour: ``W/epoch_2.pth`` gives ``W_from_epoch_2``,
    as a file of a template's fixed subfolder and a best checkpoint do."""
    assert _advised('/runs/x/epoch_2.pth', {}) == '/runs/x_from_epoch_2'
    assert _advised('/runs/x/ckpts/epoch_2.pth',
                    dict(filename_tmpl='ckpts/epoch_{}.pth')) == \
        '/runs/x_from_epoch_2'
    assert _advised('/runs/x/best_acc_epoch_2.pth',
                    dict(save_best='acc')) == '/runs/x_from_best_acc_epoch_2'
    assert new_work_dir_name('runs/x', '/elsewhere/ep2/model.pth') == \
        'runs/x_from_model'


class _Tiny(BaseModel):

    def forward(self, *args, **kwargs):
        return {}


def test_the_resume_messages_keep_the_step(clean_loggers, tmp_path):
    work = str(tmp_path / 'x')
    runner = Runner(model=_Tiny(), work_dir=work)
    assert new_work_dir(runner, f'{work}/ep2/model.pth') == \
        f'{work}_from_ep2_model'
    assert new_work_dir(runner, f'{work}/epoch_2.pth') == \
        f'{work}_from_epoch_2'


@pytest.fixture
def stepped_run(tmp_path, tiny_image_data, last_checkpoint_run):
    """A config with ``filename_tmpl='ep{}/model.pth'`` and work dir ``W``,
    which holds a real checkpoint at ``W/ep2/model.pth``."""
    cfg = stepped_run_config(tmp_path, tiny_image_data,
                             last_checkpoint_run['named'])
    cfg.train_cfg.max_epochs = 1
    return cfg


def test_a_real_refusal_advises_a_folder_that_trains(clean_loggers, tmp_path,
                                                     stepped_run):
    cfg = stepped_run
    with pytest.raises(ConfigError) as info:
        build_runner(cfg.copy()).train()
    advised = re.search(r'\(--work-dir (\S+)\)', str(info.value))[1]
    assert advised == f'{tmp_path}/W_from_ep2_model'
    cfg.work_dir = advised
    build_runner(cfg).train()
    assert (tmp_path / 'W_from_ep2_model' / 'ep1' / 'model.pth').is_file()
