# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a model-zoo checkpoint name stands for, read from local tables.

MMEngine's loaders for ``torchvision://`` and ``modelzoo://`` (the
torchvision table, built from torchvision's own weight enums and
MMEngine's ``hub/torchvision_0.12.json``), ``open-mmlab://`` and
``openmmlab://`` (``hub/openmmlab.json``, updated by
``$MMENGINE_HOME/open_mmlab.json``, deprecated names followed through
``hub/deprecated.json``) and ``mmcls://`` (``hub/mmcls.json``) turn the
name into an ``http(s)://`` address and download it into PyTorch's hub
cache; an ``open-mmlab://`` entry that is not an address is a file under
MMEngine's home (:func:`mmengine_home`). MMEngine 0.10 has no
``mmpretrain://`` scheme (such a path is taken for a local file).

This module is the one lookup of those names, without any network
access: :func:`zoo_address` for the safe loaders of
:mod:`.checkpoint_schemes` (a name the table lacks is refused by name),
:func:`zoo_target` for an output check that refuses the place the
download will take before it is downloaded (:mod:`.output_file`), and
:func:`zoo_file_problem`, which refuses an output over such a local file.
"""
import logging
import os
import os.path as osp
from typing import Dict, Iterable, Optional, Tuple

from mmengine.logging import print_log

from .local_files import same_file

__all__ = [
    'ZOO_SCHEMES', 'mmengine_home', 'is_zoo_name', 'zoo_address', 'zoo_target',
    'zoo_file_problem'
]

#: The schemes MMEngine's checkpoint loaders resolve through a table.
ZOO_SCHEMES = ('torchvision://', 'modelzoo://', 'open-mmlab://',
               'openmmlab://', 'mmcls://')


def mmengine_home() -> str:
    """MMEngine's home folder, as ``mmengine.runner.checkpoint`` finds it."""
    return osp.expanduser(
        os.getenv(
            'MMENGINE_HOME',
            osp.join(os.getenv('XDG_CACHE_HOME', '~/.cache'), 'mmengine')))


def is_zoo_name(path: str) -> bool:
    """Whether ``path`` has one of :data:`ZOO_SCHEMES`."""
    return str(path).startswith(ZOO_SCHEMES)


def _user_table() -> str:
    """``$MMENGINE_HOME/open_mmlab.json``, which MMEngine reads over its
    own ``open-mmlab://`` table."""
    return osp.join(mmengine_home(), 'open_mmlab.json')


def _entry(name: str, warn: bool) -> Tuple[str, str, Dict[str, str]]:
    """``(scheme, key, table)``: the table of ``name``'s scheme and the key
    ``name`` is looked up under, a deprecated ``open-mmlab://`` name
    followed to its new one (with a warning if ``warn``, as for the
    deprecated ``modelzoo://`` scheme). Reading the
    ``open-mmlab://`` table raises what MMEngine's reading of
    ``$MMENGINE_HOME/open_mmlab.json`` raises."""
    from mmengine.runner import checkpoint as zoo
    scheme, key = name.split('://', 1)
    scheme += '://'
    if scheme in ('torchvision://', 'modelzoo://'):
        if warn and scheme == 'modelzoo://':
            # MMEngine's own loader warns so too.
            print_log(
                'The URL scheme of "modelzoo://" is deprecated, please '
                'use "torchvision://" instead',
                logger='current',
                level=logging.WARNING)
        return scheme, key, zoo.get_torchvision_models()
    if scheme == 'mmcls://':
        return scheme, key, zoo.get_mmcls_models()
    deprecated = zoo.get_deprecated_model_names()
    if key in deprecated:
        if warn:
            print_log(
                f'{scheme}{key} is deprecated in favor of '
                f'{scheme}{deprecated[key]}',
                logger='current',
                level=logging.WARNING)
        key = deprecated[key]
    return scheme, key, zoo.get_external_models()


def _place(scheme: str, entry: str) -> str:
    """An ``open-mmlab://`` entry that is not an address names a file
    under MMEngine's home."""
    if scheme in ('open-mmlab://', 'openmmlab://') and \
            not entry.startswith(('http://', 'https://')):
        return osp.join(mmengine_home(), entry)
    return entry


def zoo_address(name: str) -> str:
    """The address (or the local file) the load of ``name`` reads.

    A deprecated ``open-mmlab://`` name is followed to its new one, with a
    warning, as MMEngine's loader does.

    Args:
        name (str): A checkpoint path with one of :data:`ZOO_SCHEMES`,
            e.g. ``'torchvision://resnet18'``.

    Returns:
        str: The ``http(s)://`` address, or for an ``open-mmlab://``
        entry that is not an address, the absolute path of the file under
        MMEngine's home.

    Raises:
        ValueError: If ``name`` has none of :data:`ZOO_SCHEMES`.
        KeyError: If its scheme's table has no such name; the message
            names the scheme, the table's size and a few of its names.
    """
    name = str(name)
    if not is_zoo_name(name):
        raise ValueError(f'{name} has none of the model-zoo schemes '
                         f'{", ".join(ZOO_SCHEMES)}.')
    scheme, key, table = _entry(name, warn=True)
    if key not in table:
        raise KeyError(
            f'{scheme}{key} names no known checkpoint; the {scheme} table '
            f'has {len(table)} entries, e.g. {sorted(table)[:5]}.')
    return _place(scheme, table[key])


def zoo_target(name: str) -> Optional[str]:
    """:func:`zoo_address`, or None where the load of ``name`` fails.

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
    name = str(name)
    if not is_zoo_name(name):
        return None
    try:
        scheme, key, table = _entry(name, warn=False)
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
    entry = table.get(key)
    return None if entry is None else _place(scheme, entry)


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
