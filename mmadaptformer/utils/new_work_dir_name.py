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
from typing import Optional

__all__ = ['new_work_dir_name']


def new_work_dir_name(work_dir: str, checkpoint: Optional[str]) -> str:
    """``<work_dir>_from_<checkpoint's file stem>``
    (``work_dirs/x_from_epoch_2``), with ``_new`` added while that is the
    folder holding ``checkpoint``.

    Args:
        work_dir (str): The work dir of the run that wrote (or resumes
            from) the checkpoint.
        checkpoint (str, optional): The checkpoint the new run starts from;
            None where it is not known (``..._from_file``).

    Returns:
        str: A folder beside ``work_dir`` (normalised as
        ``osp.normpath`` writes it), never the folder that holds
        ``checkpoint``. A work dir named ``.`` or ``..`` is named by its
        folder's real name, beside it: ``--work-dir .`` in ``runs/x``
        gives ``../x_from_epoch_2``, not the hidden ``._from_epoch_2``
        inside the work dir.
    """
    stem = 'file' if checkpoint is None else osp.splitext(
        osp.basename(checkpoint))[0]
    folder = osp.normpath(work_dir)
    if osp.basename(folder) in (osp.curdir, osp.pardir):
        folder = osp.join(
            osp.normpath(osp.join(folder, osp.pardir)),
            osp.basename(osp.abspath(folder)))
    name = f'{folder}_from_{stem}'
    # A resume from <x>_from_epoch_2/epoch_2.pth into <x> itself.
    while checkpoint is not None and osp.abspath(name) == osp.dirname(
            osp.abspath(checkpoint)):
        name += '_new'
    return name
