# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a run's work dir can be made and written in, checked before
anything is built.

MMEngine's Runner makes ``work_dir`` (``mkdir_or_exist``) when it is
built, which ``tools/train.py`` and ``tools/test.py`` do after reading the
datasets and building the model: a ``--work-dir`` (or a config's or a
``--cfg-options`` ``work_dir``) that is a file, or lies under one, ended
them with a ``FileExistsError`` or ``NotADirectoryError`` traceback from
the Runner. :func:`refuse_work_dir` names it on one line first; the
Runners that :func:`~mmadaptformer.engine.build_runner` builds refuse it
too (:class:`~mmadaptformer.engine.config_copy_runner.ConfigCopyMixin`),
for a script that builds one directly.

:func:`refuse_two_work_dirs` refuses ``--work-dir A`` beside
``--cfg-options work_dir=B`` naming another folder: ``tools/train.py``
took B (its options were merged last), ``tools/test.py`` A, without a word.
"""
import argparse
import os.path as osp
from typing import Optional

from .local_files import home_expanded
from .output_folder import output_folder_problem

__all__ = ['refuse_two_work_dirs', 'refuse_work_dir']


def refuse_work_dir(parser: argparse.ArgumentParser, work_dir,
                    given: Optional[str], cfg_options: Optional[dict]) -> None:
    """End a tool with ``parser.error`` (exit status 2) if ``work_dir``
    cannot be the run's folder (:func:`~.output_folder.
    output_folder_problem`: a file, a path below a file, a folder that
    cannot be written in), naming the path, what is wrong there, and
    where it came from.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        work_dir (str): The config's ``work_dir``, as the run will use it
            (after ``--work-dir`` and ``--cfg-options``); anything but a
            string is left to the Runner.
        given (str, optional): ``--work-dir``, as the command line gives it.
        cfg_options (dict, optional): ``--cfg-options``.
    """
    if not isinstance(work_dir, str):
        return
    if given is not None and home_expanded(given) == work_dir:
        what = '--work-dir'
    elif 'work_dir' in (cfg_options or {}):
        what = '--cfg-options work_dir'
    else:
        what = 'work_dir'
    problem = output_folder_problem(work_dir, what)
    if problem:
        parser.error(problem)


def refuse_two_work_dirs(parser: argparse.ArgumentParser, given: Optional[str],
                         cfg_options: Optional[dict]) -> None:
    """End a tool with ``parser.error`` (exit status 2) if ``--work-dir``
    and ``--cfg-options work_dir=...`` name two folders (compared with
    ``~`` expanded, as absolute paths), naming both values. The same
    folder given both ways is left alone.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        given (str, optional): ``--work-dir``, as the command line gives it.
        cfg_options (dict, optional): ``--cfg-options``.
    """
    if given is None or 'work_dir' not in (cfg_options or {}):
        return
    option = cfg_options['work_dir']
    if isinstance(option, str) and _folder(option) == _folder(given):
        return
    parser.error(
        f'--work-dir {given} and --cfg-options work_dir={option} name two '
        'work dirs; give one of them.')


def _folder(path: str) -> str:
    return osp.abspath(home_expanded(path))
