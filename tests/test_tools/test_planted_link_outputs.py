# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py --out /tmp/preds.json`` where another user has made
``/tmp/preds.json`` a link to one of your files: the results replaced that
file (the atomic writer followed the link itself, so Linux's
``fs.protected_symlinks`` never saw it). Now the tool refuses the link
before it loads a model, and the file stays as it was. ``tools/train.py
--work-dir /tmp/run`` where ``/tmp/run`` is such a link to a folder of
yours wrote the run's log and checkpoints into that folder; it is refused
before the Runner makes anything.

Only root can make a link that another user owns; skipped for others."""
import os
import os.path as osp

import pytest
from helpers import TINY_VIDEO_CONFIG, run_tool, video_data_cfg, write_config
from refusal_lines import usage_line

needs_root = pytest.mark.skipif(
    not hasattr(os, 'geteuid') or os.geteuid() != 0,
    reason='only root can make a link that another user owns')


@needs_root
def test_infer_out_through_a_planted_link_is_refused(infer, stock_video_model,
                                                     tiny_video_data, tmp_path,
                                                     capsys, clean_loggers):
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o1777)
    precious = tmp_path / 'precious.txt'
    precious.write_text('precious\n')
    link = shared / 'preds.json'
    link.symlink_to(precious)
    os.lchown(link, 65534, 65534)
    video = osp.join(tiny_video_data['videos'], 'val_0_0.mp4')
    with pytest.raises(SystemExit) as info:
        infer([
            stock_video_model['config'], stock_video_model['checkpoint'],
            video, '--out',
            str(link)
        ])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert 'Traceback' not in '\n'.join(err)
    assert err[-1].split(': error: ', 1)[1] == (
        f'--out {link}: {link} is a symbolic link to {str(precious)!r} that '
        f"'nobody' (uid 65534), not you, made in {shared}, a folder anyone "
        'can write in: following it would write wherever that user chose, '
        "so it is not followed (Linux's fs.protected_symlinks refuses it "
        'too). Delete the link or give a path in a folder of your own.')
    assert precious.read_text() == 'precious\n'
    assert sorted(os.listdir(tmp_path)) == ['precious.txt', 'shared']


@needs_root
def test_train_work_dir_through_a_planted_link_is_refused(
        tmp_path, tiny_video_data):
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o1777)
    home = tmp_path / 'home'
    home.mkdir()
    link = shared / 'run'
    link.symlink_to(home)
    os.lchown(link, 65534, 65534)
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool(['train.py', config, '--work-dir', link],
                    cwd=tmp_path,
                    check=False)
    # A mistake of the command line, named before the datasets are read
    # (tools/train.py's refuse_work_dir); build_runner refused it after.
    assert usage_line(proc) == (
        f'train.py: error: --work-dir {link}: {link} is a symbolic link to '
        f"{str(home)!r} that 'nobody' (uid 65534), not you, made in "
        f'{shared}, a folder anyone can write in: following it would write '
        "wherever that user chose, so it is not followed (Linux's "
        'fs.protected_symlinks refuses it too). Delete the link or give a '
        'path in a folder of your own.')
    assert os.listdir(home) == []
