# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every error class of ours that the README names can be imported from
one of the package's public subpackages, so that a user can catch it as
documented."""
import builtins
import importlib
import re
from pathlib import Path

from repo_paths import REPO_ROOT

PACKAGES = ('utils', 'apis', 'engine', 'datasets', 'models')


def test_readme_errors_are_exported():
    readme = (Path(REPO_ROOT) / 'README.md').read_text(encoding='utf-8')
    named = set(re.findall(r'`(\w+Error)`', readme))
    ours = sorted(name for name in named if not hasattr(builtins, name))
    assert 'StateDictMismatchError' in ours, ours
    exported = {
        name: [
            package for package in PACKAGES if name in importlib.import_module(
                f'mmadaptformer.{package}').__all__
        ]
        for name in ours
    }
    missing = [name for name, where in exported.items() if not where]
    assert not missing, (
        f'the README names {missing}, which no mmadaptformer package exports')
