# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The line a missing ``_base_`` file is named on is the ``_base_``
assignment's entry, not the first line that mentions the file's name (a
comment above it, as in every config of ``configs/``)."""
import os.path as osp
import shutil

import pytest
from helpers import REPO_ROOT, run_tool
from refusal_lines import usage_line

from mmadaptformer.utils.config_inheritance import missing_base_place


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_a_copied_config_names_its_base_line_not_its_comment(tmp_path, tool):
    """A config of ``configs/`` copied to another folder loses its base;
    its header comment names the base file on line 3, its ``_base_`` is on
    line 11."""
    config = tmp_path / 'adaptformer_vitb_ssv2.py'
    shutil.copy(
        osp.join(REPO_ROOT, 'configs', 'adaptformer_vitb_ssv2.py'), config)
    lines = config.read_text().splitlines()
    assert 'full-finetune_vitb_ssv2.py' in lines[2]
    assert lines[10].startswith('_base_ = ')
    argv = [tool, str(config), '--work-dir', str(tmp_path / 'w')]
    if tool == 'test.py':
        argv.insert(2, str(tmp_path / 'ckpt.pth'))
        (tmp_path / 'ckpt.pth').write_bytes(b'')
    # A mistake of the command line, exit status 2, as in tools/infer.py.
    line = usage_line(run_tool(argv, cwd=tmp_path, check=False))
    missing = tmp_path / 'baselines' / 'full-finetune_vitb_ssv2.py'
    assert line == (
        f'{tool}: error: The config {config}: its _base_ '
        f'{missing} does not exist (named in {config}, line 11).'), line


def test_the_entry_of_a_base_list_over_several_lines(tmp_path):
    """Each entry of a ``_base_`` list written over several lines is named
    on its own line; the same name in a comment, a string of another key
    and another folder's file of that name are passed over."""
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'b.py').write_text('x = 1\n')
    (tmp_path / 'b.py').write_text('y = 1\n')
    config = tmp_path / 'c.py'
    config.write_text('# inherits sub/b.py and gone/b.py\n'
                      "note = 'gone/b.py'\n"
                      '_base_ = [\n'
                      "    'sub/b.py',  # gone/b.py is not here\n"
                      "    './b.py',\n"
                      "    'gone/b.py',\n"
                      ']\n')
    missing = str(tmp_path / 'gone' / 'b.py')
    assert missing_base_place(str(config), missing) == f'{config}, line 6'


def test_a_base_string_in_a_base_of_the_config(tmp_path):
    """A base two levels up is named in the file that names it, on the line
    of its ``_base_`` string, which may follow a ``{{ fileDirname }}``."""
    (tmp_path / 'mid.py').write_text('# mid: based on {{ fileDirname }}/x.py'
                                     '\n\n_base_ = (\n'
                                     "    '{{ fileDirname }}/x.py')\n")
    config = tmp_path / 'c.py'
    config.write_text("# see mid.py\n_base_ = 'mid.py'\n")
    place = missing_base_place(str(config), str(tmp_path / 'x.py'))
    assert place == f'{tmp_path / "mid.py"}, line 4'


def test_a_config_given_by_a_relative_path(tmp_path, monkeypatch):
    """``{{ fileDirname }}`` is the config's absolute folder, as MMEngine
    substitutes it, when the config is given relative to the working
    folder."""
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' /
     'c.py').write_text("# x.py\n_base_ = ['{{ fileDirname }}/x.py']\n")
    monkeypatch.chdir(tmp_path)
    place = missing_base_place(
        osp.join('sub', 'c.py'), str(tmp_path / 'sub' / 'x.py'))
    assert place == f'{osp.join("sub", "c.py")}, line 2'


def test_a_read_base_import_is_named_on_its_line(tmp_path):
    """A pure-Python config names its base with ``from .x import *`` inside
    ``with read_base():``; the file name ``x.py`` is on no line, so the line
    was not given at all."""
    config = tmp_path / 'c.py'
    config.write_text('from mmengine.config import read_base\n\n'
                      'with read_base():\n'
                      '    from .here import *  # noqa\n'
                      '    from .gone import *  # noqa\n')
    (tmp_path / 'here.py').write_text('x = 1\n')
    place = missing_base_place(str(config), str(tmp_path / 'gone.py'))
    assert place == f'{config}, line 5'


def test_a_yaml_base_is_named_on_its_line_not_a_comment(tmp_path):
    """A YAML config's ``_base_`` entry is named on the first line that
    holds it as written, a YAML comment passed over."""
    config = tmp_path / 'c.yaml'
    config.write_text('# gone.py is inherited\n_base_:\n  - here.py\n'
                      '  - gone.py\n')
    (tmp_path / 'here.py').write_text('x = 1\n')
    place = missing_base_place(str(config), str(tmp_path / 'gone.py'))
    assert place == f'{config}, line 4'


def test_a_json_base_is_named_on_its_line(tmp_path):
    """A guard of kept behaviour: a JSON config's ``_base_`` entry is named
    on the first line that holds it."""
    config = tmp_path / 'c.json'
    config.write_text('{\n  "_base_": [\n    "here.py",\n    "gone.py"\n'
                      '  ]\n}\n')
    (tmp_path / 'here.py').write_text('x = 1\n')
    place = missing_base_place(str(config), str(tmp_path / 'gone.py'))
    assert place == f'{config}, line 4'
