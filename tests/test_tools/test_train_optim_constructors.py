# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py`` names an ``optim_wrapper.constructor`` that no
registry holds before the Runner, in the form of several wrappers too.

MMEngine's ``build_optim_wrapper`` builds every ``constructor`` from its
registry, so such a name always failed, and a dict of several wrappers
(one per optimizer, without ``optim_wrapper.optimizer``) with one was not
checked: a ``KeyError`` traceback after the work dir was made."""
import os
import os.path as osp

import pytest
from config_writers import image_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG
from several_optim_wrappers import REGISTERING_MODULE
from tool_runners import run_tool

SEVERAL = ('optim_wrapper = dict(_delete_=True, '
           "backbone=dict(optimizer=dict(type='SGD', lr=0.1)), "
           "head=dict(optimizer=dict(type='SGD', lr=0.1)), "
           'constructor={!r})\n')

NEEDS = (' A dict of several wrappers (no optim_wrapper.optimizer) needs a '
         "constructor that builds each of them (such as mmagic's "
         "MultiOptimWrapperConstructor); MMEngine's "
         'DefaultOptimWrapperConstructor builds one, from '
         'optim_wrapper.optimizer.')


@pytest.mark.parametrize('constructor, imports, hint', [
    ('MultiOptimWrapperConstructor', False, '.'),
    ('SeveralOptimWrapperConstructr', True,
     "; did you mean 'SeveralOptimWrapperConstructor'?"),
])
def test_an_unknown_constructor_of_several_wrappers_is_refused_first(
        tmp_path, tiny_image_data, constructor, imports, hint):
    """mmagic's name without mmagic installed, and a misspelled name of a
    constructor of several wrappers that the config imports: refused in
    one line, offering only constructors of several wrappers (not
    MMEngine's default one, the closest name), and no work dir."""
    body = image_data_cfg(tiny_image_data) + SEVERAL.format(constructor)
    env = None
    if imports:
        (tmp_path / 'register_several.py').write_text(REGISTERING_MODULE)
        body += "custom_imports = dict(imports=['register_several'])\n"
        tests = osp.dirname(osp.dirname(osp.abspath(__file__)))
        env = dict(
            PYTHONPATH=os.pathsep.join(
                [str(tmp_path), tests] +
                [p for p in [os.environ.get('PYTHONPATH')] if p]))
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                          body)
    work_dir = tmp_path / 'work'
    proc = run_tool(['train.py', config, '--work-dir', work_dir],
                    cwd=tmp_path,
                    env=env,
                    check=False)
    assert refused_line(
        proc, no_dir=work_dir
    ) == (f'ConfigError: {config}: optim_wrapper.constructor: {constructor!r} '
          'is not in the mmpretrain::optimizer wrapper constructor registry'
          f'{hint} Check the spelling, or import the module that registers '
          f'it (custom_imports).{NEEDS}')
