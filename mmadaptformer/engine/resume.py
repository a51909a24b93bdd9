# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--resume auto`` that never loses or clobbers a run.

MMEngine's auto-resume reads ``work_dir/last_checkpoint`` and nothing else:

* a missing ``last_checkpoint`` (a work dir from another tool, a copy
  without it) makes the run start from scratch, and its saves then
  overwrite or delete the old run's ``epoch_*.pth``;
* a truncated newest checkpoint, or a ``last_checkpoint`` that names a
  missing file, stops the run although an older checkpoint is intact;
* ``last_checkpoint`` holds an absolute path, so a copied or moved work
  dir resumes from the original location.

:func:`find_resume_checkpoint` picks the newest checkpoint of the work dir
that really loads (``last_checkpoint``'s, else ``epoch_*.pth`` /
``iter_*.pth`` by number, newest first), says what it skipped and why, keeps
damaged files under a new name (``epoch_40.pth.corrupt``) so that the
resumed run cannot overwrite them, and refuses to start over in a work dir
that holds checkpoints none of which loads, unless told so.
"""
import logging
import os
import os.path as osp
import re
from typing import List, NamedTuple, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from mmadaptformer.utils import CheckpointLoadError, safe_torch_load
from mmadaptformer.utils.dist import launcher_rank
from mmadaptformer.utils.local_files import path_inside

__all__ = [
    'ResumePlan', 'NoResumableCheckpointError', 'find_resume_checkpoint',
    'apply_auto_resume', 'log_resume_plan', 'CORRUPT_SUFFIX',
    'ALLOW_RESTART_FLAG', 'newest_checkpoints', 'local_checkpoint_dir'
]

CORRUPT_SUFFIX = '.corrupt'
ALLOW_RESTART_FLAG = '--allow-restart'
_NUMBERED = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
_LAST_CHECKPOINT = 'last_checkpoint'


class NoResumableCheckpointError(RuntimeError):
    """The work dir holds checkpoints, but none of them can be resumed."""


class ResumePlan(NamedTuple):
    """What ``--resume auto`` decided.

    Attributes:
        checkpoint (str, optional): The checkpoint to resume from; None to
            start from scratch.
        skipped (list[str]): One line per checkpoint that was passed over,
            naming it and why.
        renamed (list[tuple[str, str]]): ``(old, new)`` paths of damaged
            checkpoints kept under a new name.
        delegated (bool): True if MMEngine's own auto-resume decides (the
            checkpoints are on a remote ``out_dir``).
    """
    checkpoint: Optional[str]
    skipped: List[str]
    renamed: List[Tuple[str, str]]
    delegated: bool = False


def _numbered_checkpoints(work_dir: str) -> List[str]:
    """``epoch_*.pth`` / ``iter_*.pth`` of ``work_dir``, newest first."""
    found = []
    for name in os.listdir(work_dir):
        match = _NUMBERED.match(name)
        path = osp.join(work_dir, name)
        if not match:
            continue
        try:
            # Another rank may rename a damaged one meanwhile.
            mtime = osp.getmtime(path)
        except OSError:
            continue
        if osp.isfile(path):
            found.append((int(match.group(2)), mtime, path))
    return [path for _, _, path in sorted(found, reverse=True)]


def _holds_checkpoints(work_dir: str) -> List[str]:
    """Names of files in ``work_dir`` that a restart could clobber or that
    an earlier fallback kept (``*.pth``, ``*.pth.corrupt*``)."""
    return sorted(
        name for name in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, name)) and (
            name.endswith('.pth') or f'.pth{CORRUPT_SUFFIX}' in name))


def _read_last_checkpoint(work_dir: str, checkpoint_dir: str,
                          skipped: List[str]) -> Optional[str]:
    """The file ``work_dir/last_checkpoint`` names, resolved inside
    ``checkpoint_dir``.

    A path outside ``checkpoint_dir`` (a copied or moved work dir) is looked
    up by its file name inside ``checkpoint_dir``.
    """
    save_file = osp.join(work_dir, _LAST_CHECKPOINT)
    if not osp.isfile(save_file):
        return None
    try:
        with open(save_file, encoding='utf-8') as f:
            named = f.read().strip()
    except UnicodeDecodeError as e:
        skipped.append(f'{save_file} is not a text file of one path ({e})')
        return None
    if not named:
        skipped.append(f'{save_file} is empty')
        return None
    if not osp.isabs(named):
        named = osp.join(checkpoint_dir, named)
    if osp.isfile(named) and path_inside(named, checkpoint_dir):
        return named
    local = osp.join(checkpoint_dir, osp.basename(named))
    why = ('is outside the work dir'
           if osp.exists(named) else 'does not exist')
    if osp.isfile(local):
        skipped.append(f'{save_file} names {named}, which {why}; using the '
                       f'work dir\'s own {local} instead')
        return local
    skipped.append(f'{save_file} names {named}, which {why}, and the work '
                   f'dir has no {osp.basename(named)}')
    return None


def _load_error(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or None if it can."""
    try:
        checkpoint = safe_torch_load(path, map_location='cpu')
    except (CheckpointLoadError, OSError) as e:
        return str(e).splitlines()[0]
    if not (isinstance(checkpoint, dict)
            and {'meta', 'state_dict'} <= checkpoint.keys()):
        return ('it is not an MMEngine training checkpoint (a dict with '
                '"meta" and "state_dict")')
    return None


def _corrupt_name(path: str) -> str:
    """A free name for keeping the damaged ``path``; never an existing
    file."""
    candidate, index = path + CORRUPT_SUFFIX, 1
    while osp.lexists(candidate):
        candidate = f'{path}{CORRUPT_SUFFIX}.{index}'
        index += 1
    return candidate


def newest_checkpoints(work_dir: str,
                       checkpoint_dir: Optional[str] = None,
                       skipped: Optional[List[str]] = None) -> List[str]:
    """The checkpoints of a run, newest first, in the order ``--resume
    auto`` tries them; none is loaded.

    The file ``work_dir/last_checkpoint`` names (a relative path, or one
    outside ``checkpoint_dir`` as in a copied or moved work dir, is looked
    up by its file name inside ``checkpoint_dir``), after any numbered
    checkpoint newer than it; then ``epoch_*.pth`` and ``iter_*.pth`` by
    number, newest first. The first is the one a run stopped by Ctrl-C
    names for ``--resume`` (:mod:`mmadaptformer.engine.run_stop`).

    Args:
        work_dir (str): The run's work dir.
        checkpoint_dir (str, optional): Where the checkpoints are, if not
            in ``work_dir``. Defaults to None, meaning ``work_dir``.
        skipped (list[str], optional): Gets one line per record that was
            passed over, naming it and why. Defaults to None.

    Returns:
        list[str]: The checkpoints' paths; empty if there is none.
    """
    skipped = [] if skipped is None else skipped
    checkpoint_dir = checkpoint_dir or work_dir
    if not osp.isdir(checkpoint_dir):
        return []
    numbered = _numbered_checkpoints(checkpoint_dir)
    candidates = []
    last = _read_last_checkpoint(work_dir, checkpoint_dir, skipped)
    if last is None and numbered and not osp.isfile(
            osp.join(work_dir, _LAST_CHECKPOINT)):
        skipped.append(f'{osp.join(work_dir, _LAST_CHECKPOINT)} does not '
                       'exist; trying the numbered checkpoints')
    if last is not None:
        newer = []
        match = _NUMBERED.match(osp.basename(last))
        if match:
            kind, step = match.group(1), int(match.group(2))
            newer = [
                p for p in numbered
                if _NUMBERED.match(osp.basename(p)).group(1) == kind
                and int(_NUMBERED.match(osp.basename(p)).group(2)) > step
            ]
        if newer:
            skipped.append(f'last_checkpoint names {last}, but '
                           f'{", ".join(newer)} is newer')
        candidates = newer + [last]
    candidates += [p for p in numbered if p not in candidates]
    return candidates


def find_resume_checkpoint(work_dir: str,
                           allow_restart: bool = False,
                           rename_damaged: bool = True,
                           checkpoint_dir: Optional[str] = None) -> ResumePlan:
    """Pick the checkpoint ``--resume auto`` resumes from.

    Candidates, in order: the file ``work_dir/last_checkpoint`` names
    (resolved by its file name inside ``work_dir`` if it points elsewhere),
    unless a numbered checkpoint is newer; then ``epoch_*.pth`` and
    ``iter_*.pth`` by number, newest first. The first that loads with
    :func:`~mmadaptformer.utils.safe_torch_load` and holds MMEngine's
    training state wins. Damaged candidates that were passed over are
    renamed to ``<name>.corrupt`` (never deleted), so that the resumed run
    cannot overwrite them.

    Args:
        work_dir (str): The run's work dir.
        allow_restart (bool): Start from scratch when the work dir holds
            checkpoints but none of them loads. Defaults to False.
        rename_damaged (bool): Rename damaged candidates. Only one process
            of a distributed run (rank 0) should. Defaults to True.
        checkpoint_dir (str, optional): Where the checkpoints are, if not
            in ``work_dir`` (``CheckpointHook``'s ``out_dir``). Defaults to
            None, meaning ``work_dir``.

    Returns:
        ResumePlan: The checkpoint (None to start from scratch), what was
        skipped and why, and what was renamed.

    Raises:
        NoResumableCheckpointError: If checkpoints exist, none loads and
            ``allow_restart`` is False. Nothing is renamed then.
    """
    skipped: List[str] = []
    checkpoint_dir = checkpoint_dir or work_dir
    if not osp.isdir(checkpoint_dir):
        return ResumePlan(None, skipped, [])
    candidates = newest_checkpoints(work_dir, checkpoint_dir, skipped)

    damaged: List[str] = []
    chosen = None
    for path in candidates:
        error = _load_error(path)
        if error is None:
            chosen = path
            break
        skipped.append(f'{path} cannot be resumed from: {error}')
        if osp.exists(path):
            damaged.append(path)

    if chosen is None:
        present = _holds_checkpoints(checkpoint_dir)
        if present and not allow_restart:
            # One line: the tools print it as their last.
            # A load error ends with its own full stop: one, not two.
            # One file is 'it', more are 'them'.
            one = len(present) == 1
            them = 'it' if one else 'them'
            why = ('Why each was skipped: ' +
                   '; '.join(reason.rstrip('.') for reason in skipped)
                   if skipped else f'{"It" if one else "None of them"} is '
                   f'{"no" if one else "a"} training checkpoint '
                   '(epoch_N.pth, iter_N.pth)')
            raise NoResumableCheckpointError(
                f'--resume auto found no checkpoint to resume from in '
                f'{checkpoint_dir}, which holds {", ".join(present)}; '
                f'starting over would overwrite {them}. {why}. Resume from '
                f'one explicitly with --resume PATH, use '
                f'another --work-dir, or pass --resume auto '
                f'{ALLOW_RESTART_FLAG} to start from scratch here (the '
                f'damaged files are then kept as *{CORRUPT_SUFFIX}).')
    renamed = []
    if rename_damaged:
        for path in damaged:
            new = _corrupt_name(path)
            try:
                os.rename(path, new)
            except FileNotFoundError:
                continue  # renamed by another process of the job
            renamed.append((path, new))
    return ResumePlan(chosen, skipped, renamed)


def log_resume_plan(plan: ResumePlan, logger='current') -> None:
    """Log what :func:`find_resume_checkpoint` decided.

    Args:
        plan (ResumePlan): The decision.
        logger (str | Logger): Where to log. Defaults to ``'current'``.
    """
    for line in plan.skipped:
        print_log(f'--resume auto skipped: {line}', logger, logging.WARNING)
    for old, new in plan.renamed:
        print_log(f'--resume auto kept the damaged {old} as {new}', logger,
                  logging.WARNING)
    if plan.delegated:
        return
    if plan.checkpoint is None:
        print_log(
            '--resume auto: no checkpoint in the work dir; training '
            'from scratch.', logger, logging.INFO)
    else:
        print_log(f'--resume auto: resuming from {plan.checkpoint}', logger,
                  logging.INFO)


def local_checkpoint_dir(cfg: Config) -> Optional[str]:
    """Where the run of ``cfg`` saves its checkpoints: its work dir, or
    the checkpoint hook's ``out_dir`` joined with the work dir's name, as
    MMEngine's ``CheckpointHook`` does; None for a remote ``out_dir``
    (``s3://...``).

    Args:
        cfg (Config): The run's config, with ``work_dir`` set.

    Returns:
        str, optional: The absolute folder, or None.
    """
    work_dir = osp.abspath(cfg.work_dir)
    out_dir = ((cfg.get('default_hooks') or {}).get('checkpoint')
               or {}).get('out_dir')
    if not out_dir:
        return work_dir
    if '://' in str(out_dir):
        return None
    return osp.join(
        osp.abspath(out_dir), osp.basename(work_dir.rstrip(osp.sep)))


def apply_auto_resume(cfg: Config, allow_restart: bool = False) -> ResumePlan:
    """Point ``cfg`` at the checkpoint ``--resume auto`` resumes from.

    Sets ``cfg.resume`` and ``cfg.load_from`` from
    :func:`find_resume_checkpoint` on ``cfg.work_dir`` (and on the
    checkpoint hook's local ``out_dir``, if it has one). Only global rank 0
    (``RANK``, ``SLURM_PROCID`` or ``OMPI_COMM_WORLD_RANK``, else 0) renames
    damaged files; every rank takes the same decision from the same files.
    With a remote ``out_dir`` MMEngine's own auto-resume is left in charge.

    Args:
        cfg (Config): The run's config, with ``work_dir`` set.
        allow_restart (bool): See :func:`find_resume_checkpoint`.
            Defaults to False.

    Returns:
        ResumePlan: The decision, for :func:`log_resume_plan`.
    """
    work_dir = osp.abspath(cfg.work_dir)
    checkpoint_dir = local_checkpoint_dir(cfg)
    if checkpoint_dir is None:
        out_dir = cfg['default_hooks']['checkpoint']['out_dir']
        cfg.resume, cfg.load_from = True, None
        return ResumePlan(
            None, [
                f'checkpoints go to the remote out_dir {out_dir}; '
                'MMEngine\'s own auto-resume reads last_checkpoint'
            ], [],
            delegated=True)
    plan = find_resume_checkpoint(
        work_dir,
        allow_restart=allow_restart,
        rename_damaged=launcher_rank(cfg.get('launcher', 'none')) == 0,
        checkpoint_dir=checkpoint_dir)
    cfg.resume = plan.checkpoint is not None
    cfg.load_from = plan.checkpoint
    return plan
