# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Config text stored in a checkpoint is run by MMEngine (``Runner.resume``,
Inferencers given ``model=None``): it runs only when it assigns data, so a
checkpoint cannot carry code past ``weights_only`` that way. Real
checkpoints of real runs, the real tools and mmaction2's own Inferencer."""
import re

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     image_data_cfg, run_tool, write_config)
from mmengine.config import Config

from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.stored_config import (StoredConfigError,
                                               check_stored_config,
                                               running_stored_config)


def _payload(marker):
    return f"x = __import__('os').system('touch {marker}')\n"


def _template_payload(marker):
    """Data to an AST, code once MMEngine has replaced its ``{{$ENV:default}}``
    templates: the comment's template gives the value ``3 quotes + *``,
    whose pattern also matches the two quotes in the string below, and
    replacing them closes the string."""
    template = "{{'$MMADAPTFORMER_UNSET_VARIABLE:%s'}}"
    return '\n'.join([
        '# ' + template % '"""*',
        'b = """' + template % '""' + '0',
        f'__import__("os").system("touch {marker}")',
        'c = """',
        'd = 1  # """',
        '',
    ])


@pytest.mark.parametrize('config',
                         [TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG])
def test_configs_mmengine_saves_are_data(config):
    check_stored_config(Config.fromfile(config).pretty_text)


@pytest.mark.parametrize('text, said', [
    ("x = __import__('os').system('id')\n", 'is code, not data'),
    ('import os\n', 'is a statement'),
    ('x = os.environ\n', 'is code, not data'),
    ('x = [i for i in range(3)]\n', 'is code, not data'),
    ("x = dict(**{'a': 1})\n", 'is code, not data'),
    ("x = {**{'a': 1}}\n", 'unpacks a value'),
    ("x = f'{1}'\n", 'is code, not data'),
    ("_base_ = ['/etc/other.py']\n", 'inherits other config files'),
    ("custom_imports = dict(imports=['antigravity'])\n",
     "imports ['antigravity'], which are not imported yet"),
    ('x = (\n', 'not Python'),
    ("x = '{{$HOME:/x}}'\n", "holds a '{{$'... template"),
    ("x = {{'$N:1'}}\n", "holds a \"{{'$\"... template"),
    ("x = '{{ fileDirname }}'\n", "holds a '{{ fileDirname'... template"),
    ("x = '{{_base_.model}}'\n", "holds a '{{_base_.'... template"),
])
def test_anything_but_data_is_refused_with_its_line(text, said):
    with pytest.raises(
            StoredConfigError, match=f'line 1: .*{re.escape(said)}'):
        check_stored_config(text)


def test_data_and_imported_custom_imports_pass():
    check_stored_config('"""A docstring."""\n'
                        "model = dict(type='X', depth=-2, scale=+0.5, "
                        "pairs=[(1, 2)], names={'a': None, 'b': True})\n"
                        "custom_imports = dict(imports=['mmadaptformer'], "
                        'allow_failed_imports=False)\n')


def test_a_template_that_turns_data_into_code_is_refused(tmp_path):
    """Config.fromfile replaces ``{{$ENV:default}}`` templates in the text
    before it runs it: this text passed the check (it assigns a string and
    a number) and its payload ran within a stored-config caller."""
    marker = tmp_path / 'ran'
    text = _template_payload(marker)
    with pytest.raises(StoredConfigError, match='line 1: .* template'):
        check_stored_config(text)
    with running_stored_config('a test'), pytest.raises(
            StoredConfigError, match='Refused to run the config stored'):
        Config.fromstring(text, '.py')
    assert not marker.exists()
    # What MMEngine would have run: the payload, from text that is data.
    Config.fromstring(text, '.py')
    assert marker.exists()


def test_fromstring_checks_only_within_a_stored_config_caller(tmp_path):
    marker = tmp_path / 'ran'
    # A user's own config text is theirs to run.
    Config.fromstring(_payload(marker), '.py')
    assert marker.exists()
    marker.unlink()
    with running_stored_config('a test'), pytest.raises(
            StoredConfigError,
            match='Refused to run the config stored in a checkpoint: a '
            'test. line 1'):
        Config.fromstring(_payload(marker), '.py')
    assert not marker.exists()


@pytest.fixture(scope='module')
def run(tmp_path_factory, tiny_image_data):
    """A finished 1-epoch image run: ``(config, checkpoint)``."""
    root = tmp_path_factory.mktemp('stored_config')
    cfg = write_config(
        root / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        'train_cfg = dict(max_epochs=1, val_interval=10)\n')
    run_tool(['train.py', cfg, '--work-dir', root / 'work'], cwd=root)
    return cfg, root / 'work' / 'epoch_1.pth'


def test_resume_refuses_code_in_meta_config(run, tmp_path):
    """MMEngine 0.10.7's Runner.resume runs meta['config'] (mmcv 1.x's key)
    to compare GPU counts: through tools/train.py --resume the payload
    ran and training went on (exit 0)."""
    cfg, checkpoint = run
    marker = tmp_path / 'pwned'
    ckpt = safe_torch_load(str(checkpoint))
    ckpt['meta']['config'] = _payload(marker)
    evil = tmp_path / 'evil.pth'
    torch.save(ckpt, evil)
    proc = run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'w1', '--resume', evil,
        '--cfg-options', 'train_cfg.max_epochs=2'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode != 0
    out = proc.stdout + (proc.stderr or '')
    assert 'Refused to run the config stored in a checkpoint: ' \
        "Runner.resume reads the checkpoint's meta['config']" in out
    assert not marker.exists()
    # An mmcv 1.x config that is data resumes as before.
    ckpt['meta']['config'] = "gpu_ids = [0]\nmodel = dict(type='X')\n"
    torch.save(ckpt, evil)
    proc = run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'w2', '--resume', evil,
        '--cfg-options', 'train_cfg.max_epochs=2'
    ],
                    cwd=tmp_path)
    assert 'resumed epoch: 1' in proc.stdout + (proc.stderr or '')


def test_resume_refuses_a_template_in_meta_config(run, tmp_path):
    """Through tools/train.py --resume, a meta['config'] that is data until
    MMEngine replaces its templates ran its payload and trained on (exit
    0)."""
    cfg, checkpoint = run
    marker = tmp_path / 'pwned'
    ckpt = safe_torch_load(str(checkpoint))
    ckpt['meta']['config'] = _template_payload(marker)
    evil = tmp_path / 'evil.pth'
    torch.save(ckpt, evil)
    proc = run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'w1', '--resume', evil,
        '--cfg-options', 'train_cfg.max_epochs=2'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode != 0
    out = proc.stdout + (proc.stderr or '')
    assert 'Refused to run the config stored in a checkpoint: ' \
        "Runner.resume reads the checkpoint's meta['config']" in out
    assert 'template' in out
    assert not marker.exists()


@pytest.mark.parametrize('where, payload',
                         [('meta', _payload), ('message_hub', _payload),
                          ('message_hub', _template_payload)])
def test_inferencer_without_a_config_refuses_code_it_would_build_from(
        video_tasks, tmp_path, where, payload, clean_loggers):
    """mmaction2's ActionRecogInferencer(model=None) builds the model from
    the config in the checkpoint (message_hub first, then meta['cfg']):
    a real checkpoint's still builds; one carrying code is refused."""
    from mmaction.apis.inferencers import ActionRecogInferencer
    task = video_tasks['full']
    ActionRecogInferencer(None, task['checkpoint'])
    marker = tmp_path / 'pwned'
    ckpt = safe_torch_load(task['checkpoint'])
    if where == 'meta':
        ckpt.pop('message_hub', None)
        ckpt['meta']['cfg'] = payload(marker)
    else:
        ckpt['message_hub']['runtime_info']['cfg'] = payload(marker)
    evil = tmp_path / 'evil.pth'
    torch.save(ckpt, evil)
    with pytest.raises(
            StoredConfigError,
            match='an Inferencer given model=None builds the model from '
            'the config in the checkpoint'):
        ActionRecogInferencer(None, str(evil))
    assert not marker.exists()
