# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``_base_`` files a config inherits, found as MMEngine finds them (not
a package's, a ``.yml`` one's too), and the line that names a missing one.
Moved from ``test_config_inputs.py`` with the code they test."""
from mmadaptformer.utils.config_inheritance import (base_files,
                                                    missing_base_place)


def test_a_base_in_an_installed_package_is_left_out(tmp_path):
    """A guard of kept behaviour: ``mmaction::`` bases are not files of the
    config's folder."""
    config = tmp_path / 'c.py'
    config.write_text("_base_ = ['mmaction::recognition/x.py', './b.py']\n")
    assert base_files(str(config)) == [str(tmp_path / 'b.py')]


def test_a_yml_config_names_its_missing_base_on_its_line(tmp_path):
    """A guard of kept behaviour: ``.yml`` is read as YAML, as ``.yaml``
    is, not parsed as Python."""
    config = tmp_path / 'c.yml'
    config.write_text('# gone.py is inherited\n_base_:\n  - here.py\n'
                      '  - gone.py\n')
    (tmp_path / 'here.py').write_text('x = 1\n')
    gone = str(tmp_path / 'gone.py')
    assert base_files(str(config)) == [str(tmp_path / 'here.py'), gone]
    assert missing_base_place(str(config), gone) == f'{config}, line 4'


def test_a_base_list_built_by_an_expression_is_named_on_its_line(tmp_path):
    """A guard of kept behaviour: no entry is a string of the list: the
    assignment's line is named."""
    config = tmp_path / 'c.py'
    config.write_text("x = 1\n_base_ = ['a' + '.py']\n")
    assert missing_base_place(str(config),
                              str(tmp_path / 'a.py')) == f'{config}, line 2'
