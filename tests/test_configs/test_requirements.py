# Copyright (c) mmadaptformer contributors. All rights reserved.
"""requirements/: the two OpenCV wheels that share the `cv2` folder are
pinned to one version, setup.py installs what the files list, and the
offline wheels agree with the pins and need nothing more."""
import os.path as osp
import re
import subprocess

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


# What requirements/offline.txt says the offline machine keeps itself.
MACHINE_KEEPS = ('torch', 'torchvision', 'numpy', 'opencv-python', 'scipy',
                 'matplotlib', 'einops', 'rich', 'pyyaml', 'pillow',
                 'packaging', 'click', 'markdown', 'zipp')
CV2_BUILDS = ('opencv-python', 'opencv-python-headless',
              'opencv-contrib-python')


def test_offline_wheels_match_the_pins_and_need_nothing_else():
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
    offline = {
        canonicalize_name(k): v
        for k, v in _pins('offline.txt').items()
    }
    runtime = _pins('runtime.txt')
    assert all(spec.startswith('==') for spec in offline.values()), offline
    for name in ('mmengine', 'mmcv-lite', 'mmaction2', 'mmpretrain', 'decord',
                 'yapf'):
        assert offline[name] == runtime[name], name
    assert SpecifierSet(runtime['setuptools']).contains(
        offline['setuptools'][2:])
    header = open(osp.join(REPO_ROOT, 'requirements', 'offline.txt')).read()
    assert all(name in header for name in MACHINE_KEEPS)
    # Every requirement of those wheels (as installed here) is another of
    # them or something the machine keeps: pip installs them --no-deps.
    allowed = set(offline) | set(MACHINE_KEEPS) | set(CV2_BUILDS)
    for name in offline:
        # The metadata read below is the installed version's: it says
        # nothing of the pinned wheel's requirements unless they agree.
        assert f'=={metadata.version(name)}' == offline[name], (
            name, metadata.version(name), offline[name])
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(
                    dict(extra='')):
                continue
            assert canonicalize_name(requirement.name) in allowed, (name, line)


def test_download_wheels_says_how_to_call_it():
    # Downloading itself needs the network, which tests do not use.
    proc = subprocess.run(
        ['bash',
         osp.join(REPO_ROOT, 'tools', 'misc', 'download_wheels.sh')],
        capture_output=True,
        text=True)
    assert proc.returncode == 2
    assert 'Usage: [PYTHON=python3] download_wheels.sh DEST [PYTHON_VERSION]' \
        in proc.stderr
