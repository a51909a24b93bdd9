# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the analysis tools (``tools/analysis_tools/benchmark_train.py``,
``benchmark_infer.py``, ``benchmark_add_task.py``, ``get_flops.py``) share
on their command line: the config they read, with its ``--cfg-options``
(added by :func:`~mmadaptformer.utils.cfg_options.add_cfg_options`, as in
every tool) merged, and the results file they write (a reader
of their output that goes away is
:func:`~mmadaptformer.utils.closed_pipe.exit_quietly_on_closed_pipe`'s).

Before, a missing config, a file that is not a config, a config without a
``model`` and an ``--out`` in a folder that is not there (or one that is a
folder) ended these tools with a traceback, the last two only after the
whole measurement; the results files were written in place, so a run
stopped while writing left half a JSON under the real name.
"""
import json
import os.path as osp
from argparse import ArgumentParser
from typing import Any, Iterable, Optional, Tuple

from ..utils.atomic_file import atomic_write
from ..utils.cfg_options_merge import CfgOptionsError, merge_cfg_options
from ..utils.checkpoint_formats import file_kind
from ..utils.config_error import ConfigError
from ..utils.config_inputs import config_file_problem
from ..utils.config_loading import load_config_file
from ..utils.local_files import CONFIG_SUFFIXES, first_missing_file
from ..utils.output_file import output_file_problem

__all__ = [
    'CONFIG_SUFFIXES', 'not_a_config', 'refuse_bad_paths', 'load_model_config',
    'write_json'
]


def not_a_config(prog: str, config: str) -> str:
    """The line refusing ``config``, a file not named as a config, given
    as the analysis tool ``prog``'s CONFIG: what the file is when it is a
    checkpoint, a video or an image
    (:func:`~mmadaptformer.utils.checkpoint_formats.file_kind`), and the
    tool's own order of arguments (a config alone: they measure with
    random weights and read no checkpoint of the user's).

    Args:
        prog (str): The tool's name, e.g. ``'get_flops.py'``.
        config (str): The file given as CONFIG.

    Returns:
        str: One line for ``parser.error``.
    """
    suffixes = ', '.join(CONFIG_SUFFIXES)
    kind = file_kind(config) if osp.isfile(config) else None
    if kind is None:
        return (f'config {config}: not a config file (expected one of '
                f'{suffixes})')
    give = ('the config the checkpoint was trained with'
            if kind.startswith('a checkpoint') else
            'a model config, such as configs/tiny/tiny_adaptformer_video.py')
    return (f'config {config}: it is {kind}, not a config file (expected one '
            f'of {suffixes}): {prog} takes the config alone ({prog} CONFIG '
            '[OPTIONS]) and measures with random weights, reading no '
            f'checkpoint of yours; give {give}')


def refuse_bad_paths(parser: ArgumentParser,
                     config: str,
                     outputs: Iterable[Tuple[Optional[str], str]],
                     cfg_options: Optional[dict] = None) -> None:
    """``parser.error`` (exit status 2) before anything is measured if
    ``config`` is not a config file, or an output cannot be written there.

    An output may not replace a file the config reads (a ``_base_``, a
    file its keys name), nor land in the download cache's place for an
    ``http(s)`` address it names (``load_from``, ``init_cfg.checkpoint``,
    ``pretrained``) or on that place's ``.url`` record, whether or not the
    address was downloaded yet: a later load of the address would get the
    output. So with an output, the config is loaded here (with
    ``cfg_options``) and one that does not load is refused as
    :func:`load_model_config` refuses it. Nor may an output be where no
    file can be made (``/sys``), a block device or a socket
    (:func:`~mmadaptformer.utils.output_place.place_problem`); a character
    device (``/dev/null``) or a pipe is written through.

    Args:
        parser (ArgumentParser): The tool's parser.
        config (str): The config path of the command line.
        outputs: ``(path, flag)`` of each file the tool writes, e.g.
            ``(args.out, '--out')``; a None path is skipped. A folder above
            it that is not there yet is made when the file is written.
        cfg_options (dict, optional): The tool's ``--cfg-options``, which
            may change the addresses. Defaults to None.
    """
    missing = first_missing_file([(config, 'config')])
    if missing:
        parser.error(missing)
    if not config.endswith(CONFIG_SUFFIXES):
        parser.error(not_a_config(parser.prog, config))
    outputs = [(path, flag) for path, flag in outputs if path]
    for path, flag in outputs:
        problem = output_file_problem(path, flag, [(config, 'config')])
        if problem:
            parser.error(problem)
    if not outputs:
        return
    cfg = load_model_config(parser, config, cfg_options)
    for path, flag in outputs:
        problem = config_file_problem(path, flag, config, cfg)
        if problem:
            parser.error(problem)


def load_model_config(parser: ArgumentParser,
                      config: str,
                      cfg_options: Optional[dict] = None):
    """The config with ``--cfg-options`` merged; ``parser.error`` naming
    the file if it does not load or has no ``model`` dict.

    Args:
        parser (ArgumentParser): The tool's parser.
        config (str): The config file (checked by :func:`refuse_bad_paths`).
        cfg_options (dict, optional): ``--cfg-options``. Defaults to None.

    Returns:
        Config: The config.
    """
    try:
        cfg = merge_cfg_options(load_config_file(config), cfg_options)
    except CfgOptionsError as e:
        # It names the option and the config already.
        parser.error(str(e))
    except ConfigError as e:
        parser.error(f'config {config}: {e}')
    if not isinstance(cfg.get('model'), dict):
        parser.error(f'config {config}: it has no model dict (model = '
                     f'{cfg.get("model")!r}); give a model config, such as '
                     'configs/tiny/tiny_adaptformer_video.py')
    return cfg


def write_json(obj: Any, path: str, indent: int = 1) -> None:
    """Write ``obj`` as JSON to ``path`` so that no reader sees a partial
    file (missing folders above it are made)."""
    atomic_write(json.dumps(obj, indent=indent) + '\n', osp.abspath(path))
