# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The work dir advised for a new training run from a checkpoint's
weights.

A new run from ``work_dirs/x/epoch_2.pth`` in ``work_dirs/x`` writes its
own ``epoch_2.pth`` over the file it started from. Both places that advise
another work dir, the resume messages
(:func:`~mmadaptformer.engine.hooks.new_run_args.new_work_dir`) and the
``load_from`` refusal
(:func:`~mmadaptformer.utils.load_from_overwrite.overwritten_load_from`),
name it here, so the two never advise different folders for one file.
"""
import os.path as osp
from typing import List, Optional

__all__ = ['new_work_dir_name']


def _checkpoint_name(checkpoint: str, folders: List[str]) -> str:
    """``checkpoint``'s name under the first of ``folders`` that holds it
    (any depth: ``ep2/model`` for ``W/ep2/model.pth``, a template's
    folder naming the step), else its file name, without the extension.

    Compared as given and in the folder links lead to, never by the file a
    link leads to: a link ``start.pth`` to ``W/epoch_2.pth`` is named
    ``start``, as the user gave it."""
    given = osp.normpath(osp.abspath(checkpoint))
    forms = [
        given,
        osp.join(osp.realpath(osp.dirname(given)), osp.basename(given))
    ]
    for folder in folders:
        for root in (osp.normpath(osp.abspath(folder)), osp.realpath(folder)):
            for file in forms:
                if file.startswith(root.rstrip(osp.sep) + osp.sep):
                    return osp.splitext(osp.relpath(file, root))[0]
    return osp.splitext(osp.basename(checkpoint))[0]


def new_work_dir_name(work_dir: str,
                      checkpoint: Optional[str],
                      folder: Optional[str] = None) -> str:
    """``<work_dir>_from_<checkpoint's name>`` (``work_dirs/x_from_epoch_2``),
    with ``_new`` added while that is the folder holding ``checkpoint``.

    The name is the file's path under the folder the run's checkpoints are
    saved in (``folder``, else ``work_dir``) where it lies there, its
    folders joined by ``_`` (``W/ep2/model.pth`` with ``filename_tmpl=
    'ep{}/model.pth'``: ``W_from_ep2_model``), else its file name (a file
    of another folder): the step a template's folder names is kept, and
    files of two steps are advised two folders.

    Args:
        work_dir (str): The work dir of the run that wrote (or resumes
            from) the checkpoint.
        checkpoint (str, optional): The checkpoint the new run starts from;
            None where it is not known (``..._from_file``).
        folder (str, optional): The folder the run's checkpoint hook saves
            in, where it is not ``work_dir`` (``out_dir`` set). Defaults to
            None.

    Returns:
        str: A folder beside ``work_dir`` (normalised as
        ``osp.normpath`` writes it), never the folder that holds
        ``checkpoint``. A work dir named ``.`` or ``..`` is named by its
        folder's real name, beside it: ``--work-dir .`` in ``runs/x``
        gives ``../x_from_epoch_2``, not the hidden ``._from_epoch_2``
        inside the work dir.
    """
    stem = 'file' if checkpoint is None else _checkpoint_name(
        checkpoint, [f for f in (folder, work_dir) if f is not None])
    stem = stem.replace(osp.sep, '_')
    base = osp.normpath(work_dir)
    if osp.basename(base) in (osp.curdir, osp.pardir):
        base = osp.join(
            osp.normpath(osp.join(base, osp.pardir)),
            osp.basename(osp.abspath(base)))
    name = f'{base}_from_{stem}'
    # A resume from <x>_from_epoch_2/epoch_2.pth into <x> itself.
    while checkpoint is not None and osp.abspath(name) == osp.dirname(
            osp.abspath(checkpoint)):
        name += '_new'
    return name
