# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``mmadaptformer.engine`` re-exports the public names of its modules.

``worker_message`` was public in ``engine/refusals.py`` (its ``__all__``)
while ``from mmadaptformer.engine import worker_message`` failed, as did
other names of the engine's modules and subpackages (the AMP helpers,
``VideoVisualizationHook``, the resume plan). Now the package's ``__all__``
holds every name in the ``__all__`` of each of its modules and
subpackages, as the same object.

The same held one level down: ``engine/hooks/__init__.py`` re-exported
the hooks but not the other public names of its modules
(``dataset_classes``, ``check_strict_evaluation``, ``epoch_seed``,
``hook_place``, ...), nor ``engine/optimizers`` ``optim_wrapper_class``.
Each subpackage's ``__all__`` now holds every name in the ``__all__`` of
each of its modules, and so does the engine's.
"""
import importlib
import pkgutil

import pytest

import mmadaptformer.engine as engine

CHILDREN = sorted(m.name for m in pkgutil.iter_modules(engine.__path__))


def _modules_of_subpackages() -> list:
    """``(subpackage, module)`` for each module of each engine
    subpackage."""
    pairs = []
    for child in pkgutil.iter_modules(engine.__path__):
        if child.ispkg:
            sub = importlib.import_module(f'mmadaptformer.engine.{child.name}')
            pairs += [(child.name, m.name)
                      for m in pkgutil.iter_modules(sub.__path__)]
    return sorted(pairs)


GRANDCHILDREN = _modules_of_subpackages()


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


def test_the_subpackages_are_the_hooks_checkpoint_and_optimizers():
    """Guard of kept behaviour: the test below covers these three."""
    assert {package
            for package, _ in GRANDCHILDREN
            } == {'adapter_checkpoint', 'hooks', 'optimizers'}


@pytest.mark.parametrize('package, child', GRANDCHILDREN)
def test_every_public_name_of_a_subpackage_module_is_re_exported(
        package, child):
    """The subpackage re-exports its module's ``__all__`` (the same
    objects), and so does ``mmadaptformer.engine``."""
    sub = importlib.import_module(f'mmadaptformer.engine.{package}')
    module = importlib.import_module(f'mmadaptformer.engine.{package}.{child}')
    public = getattr(module, '__all__', None)
    assert public, f'engine/{package}/{child} declares no __all__'
    missing = [name for name in public if name not in sub.__all__]
    assert not missing, \
        f'engine/{package}/{child}: {missing} not in {package}.__all__'
    missing = [name for name in public if name not in engine.__all__]
    assert not missing, \
        f'engine/{package}/{child}: {missing} not in engine.__all__'
    assert all(
        getattr(sub, name) is getattr(module, name) is getattr(engine, name)
        for name in public)


@pytest.mark.parametrize('package',
                         ['adapter_checkpoint', 'hooks', 'optimizers'])
def test_a_subpackage_names_each_name_once(package):
    """Guard of kept behaviour, as for the engine's ``__all__``."""
    sub = importlib.import_module(f'mmadaptformer.engine.{package}')
    assert len(sub.__all__) == len(set(sub.__all__))
    assert all(hasattr(sub, name) for name in sub.__all__)
