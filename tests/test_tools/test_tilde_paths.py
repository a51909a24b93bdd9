# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``~`` in the paths the converters read and write, and in the path a
merged checkpoint records.

The shell leaves ``~`` as it is when it is quoted or follows
``--pretrained=``. The converters refused such an input as "no such file"
although MMEngine's loaders expand ``~``, and wrote such an output into a
folder named ``~`` in the working directory; a config's ``~/...``
pretrained path was kept unexpanded in a merged file's
``meta['frozen_host_sources']`` and in the adapters' own record, so later
messages showed ``~/...`` rather than the file that was read. The other
tools expand it in checkpoints and outputs too
(``test_tilde_tool_paths.py``); a config or input is read as written,
and a refusal says which file the user meant."""
import os
import os.path as osp

import torch
from adapter_only_files import built_with_adapter_only
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, write_config
from refusal_lines import usage_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils.local_files import first_missing_file


def _home(tmp_path):
    home = tmp_path / 'home'
    home.mkdir()
    return home, {'HOME': str(home)}


def test_the_converters_expand_tilde_in_what_they_read_and_write(tmp_path):
    home, env = _home(tmp_path)
    work = tmp_path / 'work'
    work.mkdir()
    torch.save({'model': {'w': torch.arange(3.)}}, home / 'ema.pth')
    proc = run_tool([
        'model_converters/convert_official.py', '~/ema.pth', '~/out.pth',
        '--key', 'model', '--unwrap-only'
    ],
                    work,
                    env=env)
    assert f'Saved 1 tensors to {home / "out.pth"}' in proc.stdout
    assert torch.equal(
        torch.load(home / 'out.pth', weights_only=True)['state_dict']['w'],
        torch.arange(3.))
    assert os.listdir(work) == []  # no folder named '~'


def test_a_merged_file_records_the_pretrained_file_it_read(
        tmp_path, monkeypatch):
    home, env = _home(tmp_path)
    monkeypatch.setenv('HOME', str(home))
    save_stock_video_checkpoint(str(home / 'stock.pth'))
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          pretrained_cfg('~/stock.pth'))
    model, _, adapters = built_with_adapter_only(config)
    # The file read, in messages and in the adapters' own record.
    assert model.backbone.host_source == str(home / 'stock.pth')
    record = adapters['state_dict']['backbone.frozen_host_fingerprints']
    assert record['pretrained'] == str(home / 'stock.pth')
    torch.save(adapters, tmp_path / 'adapters.pth')

    run_tool([
        'model_converters/merge_adapters.py', config, 'adapters.pth',
        '~/full.pth'
    ],
             tmp_path,
             env=env)
    meta = torch.load(home / 'full.pth', weights_only=True)['meta']
    assert meta['frozen_host_sources'] == {'backbone': str(home / 'stock.pth')}


def test_a_path_with_tilde_is_named_with_the_file_meant(tmp_path, monkeypatch):
    """The tools other than the converters still read a path as written:
    their refusal now names the file meant, where there is one."""
    home, _ = _home(tmp_path)
    monkeypatch.setenv('HOME', str(home))
    (home / 'b.pth').write_bytes(b'')
    assert first_missing_file([
        ('~/b.pth', '--pretrained')
    ]) == ('--pretrained ~/b.pth: no such file (a leading ~ is not '
           f'expanded here; the file is {home / "b.pth"}: give that path)')
    assert first_missing_file([('~/c.pth', '--pretrained')
                               ]) == ('--pretrained ~/c.pth: no such file')


def test_test_py_names_the_file_meant(tmp_path):
    """A config is read as written (``Config.fromfile`` does not expand
    ``~``); the checkpoints are expanded."""
    home, env = _home(tmp_path)
    save_stock_video_checkpoint(str(home / 'stock.pth'))
    write_config(home / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG)
    proc = run_tool(['test.py', '~/cfg.py', '~/stock.pth'],
                    tmp_path,
                    env=env,
                    check=False)
    assert usage_line(proc) == (
        'test.py: error: config ~/cfg.py: no such file (a leading ~ is not '
        f'expanded here; the file is {osp.join(str(home), "cfg.py")}: give '
        'that path)')
