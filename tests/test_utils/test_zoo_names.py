# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Model-zoo names are looked up in the local tables MMEngine's loaders
read, without any network access, so that an output over the place of
their download is refused before it is downloaded."""
import json

import pytest

from mmadaptformer.utils.output_file import output_file_problem
from mmadaptformer.utils.zoo_names import zoo_target


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """A fresh hub cache and MMEngine home; returns the cache folder."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    (tmp_path / 'mmengine_home').mkdir()
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


def test_each_scheme_names_its_tables_address(homes):
    from mmengine.runner import checkpoint as zoo
    torchvision = zoo.get_torchvision_models()
    assert zoo_target('torchvision://resnet18') == torchvision['resnet18']
    assert zoo_target('modelzoo://resnet18') == torchvision['resnet18']
    assert zoo_target('mmcls://vgg11') == zoo.get_mmcls_models()['vgg11']
    external = zoo.get_external_models()
    assert zoo_target('open-mmlab://vgg16_caffe') == external['vgg16_caffe']
    # Deprecated names are followed, as MMEngine's loader follows them.
    assert zoo_target('openmmlab://resnet50_caffe') == \
        external['detectron/resnet50_caffe']


def test_the_users_table_counts(homes, tmp_path):
    """``$MMENGINE_HOME/open_mmlab.json`` adds names and overrides
    MMEngine's; an entry that is not an address is a file under the
    home."""
    (tmp_path / 'mmengine_home' / 'open_mmlab.json').write_text(
        json.dumps(
            dict(vgg16_caffe='http://127.0.0.1:9/mine.pth',
                 local='sub/w.pth')))
    assert zoo_target('open-mmlab://vgg16_caffe') == \
        'http://127.0.0.1:9/mine.pth'
    assert zoo_target('openmmlab://local') == \
        str(tmp_path / 'mmengine_home' / 'sub' / 'w.pth')


@pytest.mark.parametrize('name', [
    'torchvision://no_such_model', 'mmcls://no_such_model',
    'open-mmlab://no_such_model', 'mmpretrain://vit-base', 'https://x/y.pth',
    'checkpoints/local.pth'
])
def test_unknown_names_and_other_paths_have_no_target(homes, name):
    """``mmpretrain://`` is no scheme of MMEngine 0.10's loaders."""
    assert zoo_target(name) is None


def test_an_input_zoo_name_about_to_be_downloaded_is_refused(homes):
    """A checkpoint given on the command line as a name, as for an
    address (``output_file_problem``'s inputs)."""
    url = zoo_target('torchvision://resnet18')
    out = homes / 'resnet18-f37072fd.pth'
    problem = output_file_problem(
        str(out), '--out', [('torchvision://resnet18', 'checkpoint')])
    assert problem == (
        f'--out {out} is where the download cache puts its copy of '
        f'torchvision://resnet18 ({url}) ({out}): a later load of the '
        'address takes a file there for that download, and would get this '
        'output instead. Give a path outside the download cache.')
    assert output_file_problem(
        str(out) + '.url', '--out',
        [('torchvision://resnet18', 'checkpoint')]).startswith(
            f'--out {out}.url is where the download cache puts its record ')
    assert output_file_problem(
        str(homes / 'elsewhere.pth'), '--out',
        [('torchvision://resnet18', 'checkpoint'),
         ('torchvision://no_such_model', 'checkpoint')]) is None


@pytest.mark.parametrize('text, why', [
    ('{bad', 'JSONDecodeError: Expecting property name'),
    ('["a list"]', 'it holds no dict of names'),
])
def test_a_users_table_that_cannot_be_read_is_warned_of(
        homes, tmp_path, text, why, capsys, clean_loggers):
    """The check has no place for its names, and says so; MMEngine's
    ``get_external_models`` raised (a traceback from every output check of
    a config naming ``open-mmlab://``, even in infer.py, which does not
    load ``load_from``)."""
    table = tmp_path / 'mmengine_home' / 'open_mmlab.json'
    table.write_text(text)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmadaptformer_zoo_test')
    assert zoo_target('open-mmlab://vgg16_caffe') is None
    out = capsys.readouterr().out
    assert f'open-mmlab://vgg16_caffe: {table} cannot be read ({why}' in \
        out, out
    # The other schemes do not read it.
    assert zoo_target('mmcls://vgg11') is not None
