# Copyright (c) mmadaptformer contributors. All rights reserved.
"""requirements/: the two OpenCV wheels that share the `cv2` folder are
pinned to one version, and setup.py installs what the files list."""
import os.path as osp
import re

from helpers import REPO_ROOT


def _pins(path):
    pins = {}
    for line in open(osp.join(REPO_ROOT, 'requirements', path)):
        line = line.split('#')[0].strip()
        match = re.match(r'^([A-Za-z0-9_.-]+)\s*(.*)$', line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_opencv_wheels_are_pinned_to_one_version():
    pins = _pins('runtime.txt')
    assert pins['opencv-python'].startswith('==')
    assert pins['opencv-python'] == pins['opencv-contrib-python']


def test_setup_reads_the_same_requirements():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'mmadaptformer_setup', osp.join(REPO_ROOT, 'setup.py'))
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)
    runtime = setup.parse_requirements('requirements/runtime.txt')
    assert 'opencv-python==5.0.0.93' in runtime
    assert 'opencv-contrib-python==5.0.0.93' in runtime
    assert any(
        r.startswith('tensorboard')
        for r in setup.parse_requirements('requirements/optional.txt'))
