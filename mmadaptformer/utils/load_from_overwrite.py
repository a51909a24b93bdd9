# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a new training run would write over the checkpoint it starts
from.

A new run (not ``--resume``) whose ``load_from`` is a checkpoint of its own
work dir, ``work_dirs/x/epoch_2.pth`` with ``work_dir='work_dirs/x'``,
saved its own ``epoch_2.pth`` over that file (and with
``max_keep_ckpts`` later removed it): the checkpoint the user started from
was lost. :func:`overwritten_load_from` names such a ``load_from`` for
``tools/train.py`` (before anything is built) and for
:class:`~mmadaptformer.engine.ConfigCopyMixin`'s ``train()`` (every
runner :func:`~mmadaptformer.engine.build_runner` builds).

The names a checkpoint hook may write, all compared with the file as
given and with the file a link leads to:

* ``filename_tmpl`` (``epoch_{}.pth``, or ``iter_{}.pth`` with
  ``by_epoch=False``) with any step, in the hook's folder: the work dir, or
  with ``out_dir`` set, ``out_dir/<the work dir's name>``, as MMEngine's
  ``CheckpointHook.before_train`` makes it;
* with ``save_best``, ``best_<metric>_<filename_tmpl>`` there;
* ``last_checkpoint`` in the work dir.
"""
import os.path as osp
import re
import shlex
import string
from typing import Iterable, List, Mapping, Optional, Tuple

from mmengine.config import Config
from mmengine.hooks import CheckpointHook

from .local_files import home_expanded, is_local
from .new_work_dir_name import new_work_dir_name

__all__ = [
    'checkpoint_folder', 'config_checkpoint_hooks', 'hook_settings',
    'overwritten_load_from'
]

#: The characters a step (an int) takes in a formatted file name.
_STEP = r'[-+ ,_0-9]+'


def checkpoint_folder(work_dir: str, out_dir: Optional[str]) -> str:
    """The folder a checkpoint hook saves in, as MMEngine's
    ``CheckpointHook.before_train`` makes it.

    Args:
        work_dir (str): The run's work dir.
        out_dir (str, optional): The hook's ``out_dir``.

    Returns:
        str: ``out_dir`` joined with the work dir's last folder name, or the
        work dir itself (absolute) when ``out_dir`` is None or is the work
        dir.
    """
    work_dir = osp.abspath(work_dir)
    if out_dir is None or str(out_dir) == work_dir:
        return work_dir
    return osp.join(str(out_dir), osp.basename(work_dir.rstrip(osp.sep)))


def config_checkpoint_hooks(cfg: Config) -> List[Mapping]:
    """The settings of the checkpoint hook a config gives the Runner:
    ``default_hooks.checkpoint``, MMEngine's default (``CheckpointHook``
    with its defaults) where the config has none, nothing where it removes
    it (``default_hooks.checkpoint=None``).

    Args:
        cfg (Config): The run's config.

    Returns:
        list[Mapping]: ``[]`` or ``[settings]``.
    """
    default_hooks = cfg.get('default_hooks') or {}
    hook = default_hooks.get('checkpoint', {})
    return [hook] if isinstance(hook, Mapping) else []


def hook_settings(hooks: Iterable) -> List[Mapping]:
    """The settings of each ``CheckpointHook`` (subclasses included) among
    a runner's built ``hooks``, before ``before_train`` joined ``out_dir``
    with the work dir's name.

    Args:
        hooks (Iterable): The runner's hooks (``runner.hooks``).

    Returns:
        list[Mapping]: One dict of settings per checkpoint hook.
    """
    return [
        dict(
            by_epoch=hook.by_epoch,
            filename_tmpl=hook.filename_tmpl,
            out_dir=hook.out_dir,
            save_best=hook.save_best) for hook in hooks
        if isinstance(hook, CheckpointHook)
    ]


def _pattern(template: str) -> str:
    """A regex of the names ``template.format(step)`` gives."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(_STEP)
    return ''.join(parts)


def _written_names(work_dir: str, hook: Mapping) -> List[Tuple]:
    """``(folder, name regex, what, pronoun)`` for each kind of file a
    checkpoint hook with the settings ``hook`` writes."""
    template = hook.get('filename_tmpl') or ('epoch_{}.pth' if hook.get(
        'by_epoch', True) else 'iter_{}.pth')
    folder = checkpoint_folder(work_dir, hook.get('out_dir'))
    # A template may name a subfolder ('ckpts/epoch_{}.pth').
    names = [(osp.normpath(osp.join(folder, osp.dirname(template))),
              _pattern(osp.basename(template)), f'its {template} checkpoints',
              'they')]
    if hook.get('save_best'):
        # MMEngine's name for it, with '/' replaced: in the folder itself.
        best = f'best_*_{template}'.replace('/', '_')
        names.append(
            (folder, 'best_.+_' + _pattern(template.replace('/', '_')),
             f'its {best} checkpoints', 'they'))
    names.append((osp.abspath(work_dir), re.escape('last_checkpoint'),
                  'its last_checkpoint record', 'it'))
    return names


def _same_folder(a: str, b: str) -> bool:
    return osp.normpath(osp.abspath(a)) == osp.normpath(osp.abspath(b)) \
        or osp.realpath(a) == osp.realpath(b)


def overwritten_load_from(load_from, resume, work_dir,
                          hooks: List[Mapping]) -> Optional[str]:
    """Why a new training run would write over its ``load_from``, or None.

    Args:
        load_from: The run's ``load_from``; anything but a local path is
            left alone.
        resume: The run's ``resume``: a run that resumes continues the run
            that wrote the file, on purpose, and is left alone.
        work_dir: The run's ``work_dir``; anything but a string is left
            alone.
        hooks (list[Mapping]): The settings of each checkpoint hook of the
            run (``by_epoch``, ``filename_tmpl``, ``out_dir``,
            ``save_best``; a missing one as the hook's default).

    Returns:
        str, optional: One line naming the file, the work dir and what to
        run instead.
    """
    if resume or not isinstance(load_from, str) or not load_from or \
            not is_local(load_from) or not isinstance(work_dir, str):
        return None
    given = osp.abspath(home_expanded(load_from))
    files = [given, osp.realpath(given)]
    for hook in hooks:
        if hook.get('out_dir') is not None and not is_local(hook['out_dir']):
            continue
        for folder, name, what, they in _written_names(work_dir, hook):
            if any(
                    _same_folder(osp.dirname(file), folder)
                    and re.fullmatch(name, osp.basename(file))
                    for file in files):
                where = f'work dir {work_dir}'
                if not _same_folder(folder, work_dir):
                    source = ', from out_dir' if hook.get('out_dir') else ''
                    where += f' (checkpoints in {folder}{source})'
                return _refusal(load_from, work_dir, where, what, they)
    return None


def _refusal(load_from: str, work_dir: str, where: str, what: str,
             they: str) -> str:
    # Refused even where this run saves no file of that name (one epoch,
    # interval=3): a later --resume of it does, and its own checkpoints and
    # last_checkpoint would mix with the old run's in one folder.
    q = shlex.quote
    new = new_work_dir_name(work_dir, load_from)
    return (f'load_from {load_from}: this new run writes {what} into its '
            f'{where}, where {they} can replace the file it starts from '
            f'(now or on a later --resume). Train in another work dir '
            f'(--work-dir {q(new)}); --resume {q(load_from)} continues the '
            'run that wrote it instead.')
