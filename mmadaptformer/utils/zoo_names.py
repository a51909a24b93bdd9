# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a model-zoo checkpoint name stands for, read from local tables.

MMEngine's loaders for ``torchvision://`` and ``modelzoo://`` (the
torchvision table, built from torchvision's own weight enums and
MMEngine's ``hub/torchvision_0.12.json``), ``open-mmlab://`` and
``openmmlab://`` (``hub/openmmlab.json``, updated by
``$MMENGINE_HOME/open_mmlab.json``, deprecated names followed through
``hub/deprecated.json``) and ``mmcls://`` (``hub/mmcls.json``) turn the
name into an ``http(s)://`` address and download it into PyTorch's hub
cache, as :mod:`.checkpoint_schemes` does with the same tables; an
``open-mmlab://`` entry that is not an address is a file under MMEngine's
home. MMEngine 0.10 has no ``mmpretrain://`` scheme (such a path is
taken for a local file).

:func:`zoo_target` finds that address or file without any network
access, so that an output check can refuse the place the download will
take before it is downloaded (:mod:`.output_file`), and
:func:`zoo_file_problem` refuses an output over such a local file.
"""
import logging
import os.path as osp
from typing import Iterable, Optional

from mmengine.logging import print_log

from .checkpoint_schemes import mmengine_home
from .local_files import same_file

__all__ = ['ZOO_SCHEMES', 'is_zoo_name', 'zoo_target', 'zoo_file_problem']

#: The schemes MMEngine's checkpoint loaders resolve through a table.
ZOO_SCHEMES = ('torchvision://', 'modelzoo://', 'open-mmlab://',
               'openmmlab://', 'mmcls://')


def is_zoo_name(path: str) -> bool:
    """Whether ``path`` has one of :data:`ZOO_SCHEMES`."""
    return str(path).startswith(ZOO_SCHEMES)


def _user_table() -> str:
    """``$MMENGINE_HOME/open_mmlab.json``, which MMEngine reads over its
    own ``open-mmlab://`` table."""
    return osp.join(mmengine_home(), 'open_mmlab.json')


def zoo_target(name: str) -> Optional[str]:
    """The address (or the local file) MMEngine's loader reads for ``name``.

    Args:
        name (str): A checkpoint path, e.g. ``'torchvision://resnet18'``.

    Returns:
        str | None: The ``http(s)://`` address, or for an ``open-mmlab://``
        entry that is not an address, the absolute path of the file under
        MMEngine's home. None if ``name`` has none of :data:`ZOO_SCHEMES`
        or its table has no such entry: its load then fails and names it
        (``KeyError: 'torchvision://x names no known checkpoint ...'``);
        None too, with a warning, if ``$MMENGINE_HOME/open_mmlab.json``
        cannot be read (its load fails on it).
    """
    from mmengine.runner import checkpoint as zoo
    name = str(name)
    if not is_zoo_name(name):
        return None
    scheme, key = name.split('://', 1)
    if scheme in ('torchvision', 'modelzoo'):
        return zoo.get_torchvision_models().get(key)
    if scheme == 'mmcls':
        return zoo.get_mmcls_models().get(key)
    key = zoo.get_deprecated_model_names().get(key, key)
    try:
        table = zoo.get_external_models()
    except (OSError, ValueError, AssertionError) as e:
        # The user's table (JSON that does not parse, or no dict); the load
        # of the name fails on it, but a tool that does not load it (infer
        # does not read load_from) must not. MMEngine asserts a dict
        # without a message.
        why = f'{type(e).__name__}: {e}' if str(e) else \
            'it holds no dict of names'
        print_log(
            f'{name}: {_user_table()} cannot be read ({why}), so where '
            'it is downloaded to is not known; an output there is not '
            'refused.',
            logger='current',
            level=logging.WARNING)
        return None
    target = table.get(key)
    if target is None or target.startswith(('http://', 'https://')):
        return target
    return osp.join(mmengine_home(), target)


def zoo_file_problem(out: str, what: str,
                     names: Iterable[str]) -> Optional[str]:
    """``'WHAT OUT is the file NAME stands for ...'`` if ``out`` is the
    local file that one of ``names`` (an ``open-mmlab://`` entry of
    ``$MMENGINE_HOME/open_mmlab.json`` that is not an address) stands for,
    else None.

    Args:
        out (str): A local output path, as the command line gives it.
        what (str): How the command line names it (``'--out'``).
        names (Iterable[str]): Checkpoint paths the tool's inputs or
            config name; those without a zoo scheme are skipped.

    Returns:
        str | None: The line for ``parser.error``.
    """
    for name in names:
        target = zoo_target(name) if is_zoo_name(name) else None
        if target is None or target.startswith(('http://', 'https://')):
            continue
        if osp.isfile(target) and same_file(out, target):
            return (f'{what} {out} is the file {name} stands for ({target}, '
                    f'in {_user_table()}); it would be overwritten. Give '
                    'another file.')
    return None
