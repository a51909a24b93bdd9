# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A guard of kept behaviour: ``tests/helpers.py``, split by job into
modules, still gives every name it gave, and each module says its job."""
import ast
import glob
import importlib
import os.path as osp

import helpers
import pytest

#: Every public name of ``tests/helpers.py`` before the split (dbfdf69) but
#: ``ServedProcess``, which no test used (it stays in ``tool_server_client``).
NAMES = [
    'CONFIGS', 'FailsToPickle', 'RED_NORMALISED', 'REPO_ROOT',
    'TINY_ADAPTFORMER_RAWFRAMES_CONFIG', 'TINY_ADAPTFORMER_VIDEO_CONFIG',
    'TINY_IMAGE_CONFIG', 'TINY_VIDEO_CONFIG', 'TOOLS', 'TRAIN_ONLY_CFG',
    'VIDEO_HOST', 'assert_config_paths_refused',
    'assert_host_loads_pretrained', 'config_runner', 'image_data_cfg',
    'load_tool', 'pretrained_cfg', 'recipe_channel_means',
    'recipe_run_dataset_meta', 'run_fresh_python', 'run_python_command',
    'run_ranks', 'run_tool', 'save_as_built_checkpoint',
    'save_stock_video_checkpoint', 'start_ranks', 'start_tool',
    'stripes_config', 'stripes_images', 'tool_refusal', 'torchrun_worker_env',
    'video_data_cfg', 'write_config', 'write_config_chain'
]
MODULES = [
    'checkpoint_makers', 'config_writers', 'recipe_probes', 'repo_paths',
    'stripes_task', 'tool_modules', 'tool_runners', 'tool_server_client'
]


def test_helpers_gives_every_name_it_gave():
    assert sorted(helpers.__all__) == sorted(NAMES)
    homes = {}
    for module in MODULES:
        for name, value in vars(importlib.import_module(module)).items():
            if name in NAMES and getattr(value, '__module__', module) \
                    == module:
                homes.setdefault(name, value)
    for name in NAMES:
        # The module's own object, not a copy: a monkeypatch of one is seen
        # through the other.
        assert getattr(helpers, name) is homes[name], name
    assert helpers.REPO_ROOT == osp.dirname(osp.dirname(__file__))


@pytest.mark.parametrize('module', MODULES)
def test_each_helper_module_says_its_job_in_one_line(module):
    path = importlib.import_module(module).__file__
    with open(path) as f:
        doc = ast.get_docstring(ast.parse(f.read()))
    assert doc and '\n' not in doc, (path, doc)


def test_every_name_helpers_gives_is_used_by_a_test():
    """A name no test imports is dead weight in ``helpers.__all__``: it is
    dropped there (and from its home module, unless that module uses it)."""
    tests = osp.dirname(__file__)
    used = set()
    for path in glob.glob(osp.join(tests, '**', '*.py'), recursive=True):
        name = osp.basename(path)
        if not (name.startswith('test_') or name == 'conftest.py') \
                or path == __file__:
            continue
        with open(path) as f:
            for node in ast.walk(ast.parse(f.read(), path)):
                if isinstance(node, ast.Name):
                    used.add(node.id)
                elif isinstance(node, ast.Attribute):
                    used.add(node.attr)
                elif isinstance(node, ast.alias):
                    used.add(node.asname or node.name)
    unused = sorted(set(helpers.__all__) - used)
    assert unused == [], f'tests/helpers.py re-exports {unused}, which no ' \
        'test uses'
