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
  ``by_epoch=False``) filled with any step, as MMEngine fills it
  (``filename_tmpl.format(step)``, step 1, 2, ...: ``epoch_2.pth``, never
  ``epoch_02.pth`` or ``epoch_2_5.pth``), joined to the hook's folder: the
  work dir, or with ``out_dir`` set, ``out_dir/<the work dir's name>``, as
  MMEngine's ``CheckpointHook.before_train`` makes it. The template may
  name subfolders, a field among them (``ep{}/model.pth`` writes
  ``ep2/model.pth``: MMEngine's ``save_checkpoint`` makes the folder);
* with ``save_best``, ``best_<metric>_<filename_tmpl>`` there;
* ``last_checkpoint`` in the work dir.
"""
import os.path as osp
import re
import shlex
import string
from functools import partial
from typing import Callable, Iterable, List, Mapping, Optional, Tuple

from mmengine.config import Config
from mmengine.hooks import CheckpointHook

from .local_files import home_expanded, is_local
from .new_work_dir_name import new_work_dir_name

__all__ = [
    'checkpoint_folder', 'config_checkpoint_hooks', 'hook_settings',
    'overwritten_load_from'
]

#: The digits of a step by a format spec's type (``{:x}``: hex); a step
#: written by another type (``{:.1f}``, ``{:e}``) is taken to be any text.
_DIGITS = {
    '': '0123456789',
    'd': '0123456789',
    'n': '0123456789',
    'x': '0123456789abcdef',
    'X': '0123456789ABCDEF',
    'o': '01234567',
    'b': '01'
}


def checkpoint_folder(work_dir: str, out_dir: Optional[str]) -> str:
    """The folder a checkpoint hook saves in, as MMEngine's
    ``CheckpointHook.before_train`` makes it.

    Args:
        work_dir (str): The run's work dir.
        out_dir (str, optional): The hook's ``out_dir``.

    Returns:
        str: ``out_dir`` joined with the work dir's last folder name, or the
        work dir itself (absolute) when ``out_dir`` is None or is the work
        dir's absolute path as a string. A hook that already trained has
        its ``out_dir`` joined, and joins it again on the next
        ``Runner.train()``, as this does; a ``pathlib.Path`` never equals
        the string MMEngine compares it with, and is joined too.
    """
    work_dir = osp.abspath(work_dir)
    if out_dir is None or out_dir == work_dir:
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
    a runner's built ``hooks``: ``out_dir`` as the next ``before_train``
    finds it (given, or joined with the work dir's name by an earlier
    ``train()``, which the next joins again: :func:`checkpoint_folder`).

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


def _fills(template: str, name: str) -> bool:
    """Whether ``template.format(step) == name`` for some step >= 1, the
    steps MMEngine's ``CheckpointHook`` writes (``epoch + 1``, ``iter +
    1``, and for the best checkpoint the epoch or iteration just done).

    Each field of ``template`` matches any text without a ``/`` (a step
    written by a format spec holds none); the step read back from that
    text (its digits, by the field's type) must give ``name`` again,
    so ``epoch_{}.pth`` fills ``epoch_2.pth`` but not ``epoch_02.pth``,
    and ``epoch_{:03d}.pth`` fills ``epoch_002.pth`` but not
    ``epoch_2.pth``. A template ``format(1)`` cannot fill (a named field,
    two ``{}``) makes the hook itself fail at its first save, before it
    writes a file: it fills no name.
    """
    try:
        template.format(1)
    except (IndexError, KeyError, ValueError):
        return False
    parts, types, groups = [], [], {}
    for literal, field, spec, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if (field, spec) in groups:
            # The same field again ('{0}_{0}') is the same text again.
            parts.append(f'(?P={groups[field, spec]})')
            continue
        groups[field, spec] = f's{len(groups)}'
        parts.append(f'(?P<s{len(groups) - 1}>.+?)')
        kind = (spec or '')[-1:]  # a spec's type comes last ('03d')
        types.append(kind if kind.isalpha() or kind == '%' else '')
    match = re.fullmatch(''.join(parts), name, flags=re.DOTALL)
    if match is None or not types:
        # A template with no field writes its one name at every save.
        return match is not None
    for text, kind in zip(match.groups(), types):
        if '/' in text:
            return False
        if kind not in _DIGITS:
            return True
        digits = ''.join(c for c in text if c in _DIGITS[kind])
        base = len(_DIGITS[kind])
        if digits and int(digits, base) >= 1 and \
                template.format(int(digits, base)) == name:
            return True
    return False


def _best_fills(template: str, name: str) -> bool:
    """Whether ``name`` is ``best_<metric>_<template.format(step)>`` with
    '/' replaced by '_', as MMEngine names the best checkpoint (a metric's
    name may hold '_': ``best_accuracy_top1_epoch_2.pth``)."""
    template = template.replace('/', '_')
    return name.startswith('best_') and any(
        name[i] == '_' and _fills(template, name[i + 1:])
        for i in range(len('best_') + 1, len(name)))


def _folder_forms(folder: str) -> List[str]:
    """``folder`` as given (absolute) and as its links lead."""
    return [osp.normpath(osp.abspath(folder)), osp.realpath(folder)]


def _in_folder(folder: str, written: Callable[[str], bool], file: str) -> bool:
    """Whether ``file`` is a name ``written`` accepts, in ``folder``."""
    return any(
        osp.dirname(file) == form for form in _folder_forms(folder)) and \
        written(osp.basename(file))


def _template_fills(folder: str, template: str, file: str) -> bool:
    """Whether ``file`` is ``template.format(step)`` joined to ``folder``
    (``file_backend.join_path``: ``osp.join`` for a local folder), the
    template's own subfolders, fields among them, included."""
    return any(
        _fills(
            osp.normpath(
                osp.join(form.replace('{', '{{').replace('}', '}}'),
                         template)), file) for form in _folder_forms(folder))


def _written_names(work_dir: str, hook: Mapping) -> List[Tuple]:
    """``(folder, whether a file is written, what, pronoun)`` for each kind
    of file a checkpoint hook with the settings ``hook`` writes."""
    template = hook.get('filename_tmpl') or ('epoch_{}.pth' if hook.get(
        'by_epoch', True) else 'iter_{}.pth')
    folder = checkpoint_folder(work_dir, hook.get('out_dir'))
    # A template may name a subfolder ('ckpts/epoch_{}.pth'), which the
    # line names where no step is in it ('ep{}/model.pth').
    subfolder = osp.dirname(template)
    shown = folder if '{' in subfolder else osp.normpath(
        osp.join(folder, subfolder))
    written = partial(_template_fills, folder, template)
    names = [(shown, written, f'its {template} checkpoints', 'they')]
    if hook.get('save_best'):
        # MMEngine's name for it, with '/' replaced: in the folder itself.
        best = f'best_*_{template}'.replace('/', '_')
        written = partial(_in_folder, folder, partial(_best_fills, template))
        names.append((folder, written, f'its {best} checkpoints', 'they'))
    names.append((osp.abspath(work_dir),
                  partial(_in_folder, work_dir, 'last_checkpoint'.__eq__),
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
    given = osp.normpath(osp.abspath(home_expanded(load_from)))
    # As given, as links lead to it, and in the folder links lead to.
    files = [
        given,
        osp.realpath(given),
        osp.join(osp.realpath(osp.dirname(given)), osp.basename(given))
    ]
    for hook in hooks:
        if hook.get('out_dir') is not None and not is_local(hook['out_dir']):
            continue
        for folder, written, what, they in _written_names(work_dir, hook):
            if any(written(file) for file in files):
                where = f'work dir {work_dir}'
                if not _same_folder(folder, work_dir):
                    source = ', from out_dir' if hook.get('out_dir') else ''
                    where += f' (checkpoints in {folder}{source})'
                return _refusal(load_from, work_dir, folder, where, what, they)
    return None


def _refusal(load_from: str, work_dir: str, folder: str, where: str, what: str,
             they: str) -> str:
    # Refused even where this run saves no file of that name (one epoch,
    # interval=3): a later --resume of it does, and its own checkpoints and
    # last_checkpoint would mix with the old run's in one folder.
    q = shlex.quote
    # Named by its path in the hook's folder: 'ep{}/model.pth' keeps the
    # step in the folder.
    new = new_work_dir_name(work_dir, home_expanded(load_from), folder)
    return (f'load_from {load_from}: this new run writes {what} into its '
            f'{where}, where {they} can replace the file it starts from '
            f'(now or on a later --resume). Train in another work dir '
            f'(--work-dir {q(new)}); --resume {q(load_from)} continues the '
            'run that wrote it instead.')
