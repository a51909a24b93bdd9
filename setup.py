# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Install mmadaptformer.

``pip install -e .`` installs the package with its pinned stack
(``requirements/runtime.txt``). On a GPU cluster that already has its own
CUDA build of torch or a full mmcv, install with ``--no-deps`` and see the
README for the supported version ranges.
"""
import os.path as osp
import re
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    with open(osp.join(HERE, 'mmadaptformer', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def parse_requirements(fname: str) -> list:
    """Read a requirements file, following ``-r`` includes."""
    requirements = []
    with open(osp.join(HERE, fname)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                requirements += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                requirements.append(line)
    return requirements


if __name__ == '__main__':
    setup(
        name='mmadaptformer',
        version=get_version(),
        description='AdaptFormer (NeurIPS 2022) for MMAction2 and MMPretrain',
        long_description=open(osp.join(HERE, 'README.md')).read(),
        long_description_content_type='text/markdown',
        keywords='computer vision, video understanding, parameter-efficient '
        'fine-tuning, adapter, vision transformer',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        include_package_data=True,
        python_requires='>=3.10',
        license='Apache License 2.0',
        classifiers=[
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'tests': parse_requirements('requirements/tests.txt'),
            'optional': parse_requirements('requirements/optional.txt'),
            'all': parse_requirements('requirements.txt'),
        },
        zip_safe=False)
