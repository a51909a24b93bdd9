# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An output where MMEngine's loader puts the download of a model-zoo
name a config gives (``torchvision://``, ``modelzoo://``,
``open-mmlab://``, ``openmmlab://``, ``mmcls://``) is refused before
anything is downloaded, as one for an ``http(s)://`` address is.

``tools/infer.py CONFIG CKPT VIDEO --out <hub>/resnet18-f37072fd.pth``
with ``load_from = 'torchvision://resnet18'`` wrote its JSON there: the
next run of the config took it for the download of the name (found
without a record) and failed on it. The names are looked up in MMEngine's
and torchvision's local tables; nothing is downloaded. A real HTTP server
on 127.0.0.1 serves the checkpoint that a name of
``$MMENGINE_HOME/open_mmlab.json`` stands for.
"""
import json
import os.path as osp
from urllib.parse import urlparse

import pytest
from file_server import serving
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool, pretrained_cfg,
                     save_as_built_checkpoint, save_stock_video_checkpoint,
                     tool_refusal, write_config)

from mmadaptformer.testing import make_moving_square_dataset


def _table_address(name: str) -> str:
    """The address MMEngine's own table gives ``name``."""
    from mmengine.runner import checkpoint as zoo
    scheme, key = name.split('://')
    if scheme in ('torchvision', 'modelzoo'):
        return zoo.get_torchvision_models()[key]
    if scheme == 'mmcls':
        return zoo.get_mmcls_models()[key]
    key = zoo.get_deprecated_model_names().get(key, key)
    return zoo.get_external_models()[key]


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """A full checkpoint of the tiny model, a video, a fresh hub cache and
    a fresh MMEngine home."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    data = tmp_path / 'data'
    make_moving_square_dataset(str(data), num_per_class=1)
    return dict(
        full=save_as_built_checkpoint(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                      tmp_path / 'full.pth'),
        video=str(next((data / 'videos').glob('*.mp4'))),
        hub=tmp_path / 'torch_home' / 'hub' / 'checkpoints',
        home=tmp_path / 'mmengine_home')


NAMES = [
    'torchvision://resnet18',
    'modelzoo://resnet50.imagenet1k_v2',
    'mmcls://vgg11',
    'open-mmlab://vgg16_caffe',
    # A deprecated name, followed as MMEngine's loader follows it.
    'openmmlab://resnet50_caffe'
]


@pytest.mark.parametrize('name', NAMES)
def test_infer_out_where_a_zoo_name_downloads_is_refused(
        inputs, tmp_path, name, capsys, clean_loggers):
    url = _table_address(name)
    out = inputs['hub'] / osp.basename(urlparse(url).path)
    config = write_config(
        str(tmp_path / 'zoo.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
        f'load_from = {name!r}\n')
    err = tool_refusal(
        load_tool('infer.py'),
        [config, inputs['full'], inputs['video'], '--out',
         str(out)], capsys)
    assert f'--out {out} is where the download cache puts its copy of ' \
        f'{name} ({url})' in err, err
    assert not out.exists()


def test_test_out_and_dump_where_a_zoo_name_downloads_are_refused(
        inputs, tmp_path, capsys, clean_loggers):
    """``tools/test.py`` writes ``.pkl`` (or metrics) files, so the name is
    one of ``$MMENGINE_HOME/open_mmlab.json`` whose address ends so (it is
    not downloaded: no server answers there)."""
    url = 'http://127.0.0.1:9/zoo/weights.pkl'
    inputs['home'].mkdir()
    (inputs['home'] / 'open_mmlab.json').write_text(
        json.dumps(dict(pickled=url)))
    cached = inputs['hub'] / 'weights.pkl'
    config = write_config(
        str(tmp_path / 'zoo.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
        "load_from = 'openmmlab://pickled'\n")
    test = load_tool('test.py')
    argv = [config, inputs['full'], '--work-dir', str(tmp_path / 'work')]
    for flag in ('--out', '--dump'):
        err = tool_refusal(test, argv + [flag, str(cached)], capsys)
        assert f'{flag} {cached} is where the download cache puts its ' \
            f'copy of openmmlab://pickled ({url})' in err, err
        assert not cached.exists()


def test_a_name_of_the_users_table_that_downloads_is_refused(
        inputs, tmp_path, capsys, clean_loggers):
    """``$MMENGINE_HOME/open_mmlab.json`` names a checkpoint served on
    127.0.0.1, which the config's backbone loads by that name."""
    root = tmp_path / 'served'
    root.mkdir()
    save_stock_video_checkpoint(str(root / 'backbone.pth'))
    inputs['home'].mkdir()
    with serving(root) as httpd:
        url = f'{httpd.url}/backbone.pth'
        (inputs['home'] / 'open_mmlab.json').write_text(
            json.dumps(dict(tiny_backbone=url)))
        config = write_config(
            str(tmp_path / 'zoo.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
            pretrained_cfg('open-mmlab://tiny_backbone'))
        out = inputs['hub'] / 'backbone.pth'
        err = tool_refusal(
            load_tool('infer.py'),
            [config, inputs['full'], inputs['video'], '--out',
             str(out)], capsys)
    assert f'--out {out} is where the download cache puts its copy of ' \
        f'open-mmlab://tiny_backbone ({url})' in err, err
    assert not out.exists()


def test_the_local_file_a_users_name_stands_for_is_refused(
        inputs, tmp_path, capsys, clean_loggers):
    """A name of ``$MMENGINE_HOME/open_mmlab.json`` may stand for a file
    under ``$MMENGINE_HOME``, which MMEngine's loader reads; writing the
    output there replaced it."""
    home = inputs['home']
    (home / 'mine').mkdir(parents=True)
    mine = home / 'mine' / 'backbone.pth'
    mine.write_bytes(b'the run of the config reads this')
    (home / 'open_mmlab.json').write_text(
        json.dumps(dict(my_backbone='mine/backbone.pth')))
    config = write_config(
        str(tmp_path / 'zoo.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
        "load_from = 'openmmlab://my_backbone'\n")
    err = tool_refusal(
        load_tool('infer.py'),
        [config, inputs['full'], inputs['video'], '--out',
         str(mine)], capsys)
    assert f'--out {mine} is the file openmmlab://my_backbone stands for ' \
        f'({mine}, in {home / "open_mmlab.json"}); it would be ' \
        'overwritten. Give another file.' in err, err
    assert mine.read_bytes() == b'the run of the config reads this'


def test_an_unknown_zoo_name_is_not_checked(inputs, tmp_path, capsys,
                                            clean_loggers):
    """Guard of kept behaviour: a name no local table knows has no place
    to check (its load says that it is unknown); the output is written
    and nothing is downloaded."""
    config = write_config(
        str(tmp_path / 'zoo.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
        "load_from = 'torchvision://no_such_model'\n")
    out = inputs['hub'] / 'no_such_model'
    load_tool('infer.py').main(
        [config, inputs['full'], inputs['video'], '--out',
         str(out)])
    assert json.loads(out.read_text())
    assert sorted(p.name for p in inputs['hub'].iterdir()) == \
        ['no_such_model']
