# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``mmadaptformer.engine`` re-exports the public names of its modules.

``worker_message`` was public in ``engine/refusals.py`` (its ``__all__``)
while ``from mmadaptformer.engine import worker_message`` failed, as did
other names of the engine's modules and subpackages (the AMP helpers,
``VideoVisualizationHook``, the resume plan). Now the package's ``__all__``
holds every name in the ``__all__`` of each of its modules and
subpackages, as the same object.
"""
import importlib
import pkgutil

import pytest

import mmadaptformer.engine as engine

CHILDREN = sorted(m.name for m in pkgutil.iter_modules(engine.__path__))


def test_worker_message_is_re_exported():
    from mmadaptformer.engine import refusals
    assert 'worker_message' in engine.__all__
    assert engine.worker_message is refusals.worker_message


@pytest.mark.parametrize('child', CHILDREN)
def test_every_public_name_of_a_module_is_re_exported(child):
    module = importlib.import_module(f'mmadaptformer.engine.{child}')
    public = getattr(module, '__all__', None)
    assert public, f'engine/{child} declares no __all__'
    missing = [name for name in public if name not in engine.__all__]
    assert not missing, f'engine/{child}: {missing} not in engine.__all__'
    assert all(
        getattr(engine, name) is getattr(module, name) for name in public)


def test_all_names_each_name_once_and_resolves():
    """Guard of kept behaviour: ``__all__`` names each name once, and
    ``import *`` gives them all."""
    assert len(engine.__all__) == len(set(engine.__all__))
    assert all(hasattr(engine, name) for name in engine.__all__)
    namespace = {}
    exec('from mmadaptformer.engine import *', namespace)
    assert set(engine.__all__) <= set(namespace)
