# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Merge ``--cfg-options`` into a config, naming the option that does not
fit.

MMEngine's ``Config.merge_from_dict`` raises a bare ``KeyError`` or
``TypeError`` for an option that cannot be merged (a list index the
config lacks, a key path through a string, a dict where the config has
None). The tools ended with ``ConfigError: --cfg-options: TypeError: list
indices must be integers or slices, not str``: no option named, no config
file, and ``tools/infer.py`` said it as a load error in every input, exit
status 1. :func:`merge_cfg_options` raises :class:`CfgOptionsError` naming
the option and the config instead, which the tools end with as a usage
error (exit status 2), once.
"""
import copy
from typing import Optional

from mmengine.config import Config

from .cfgopt_variables import refuse_copied_variables, unread_variables
from .config_error import ConfigError

__all__ = ['CfgOptionsError', 'merge_cfg_options']


class CfgOptionsError(ConfigError):
    """A ``--cfg-options`` option that cannot be merged into the config: a
    mistake of the command line."""


def _unmerged(cfg: Config, options: dict, error: Exception) -> str:
    """``--cfg-options KEY=VALUE cannot be merged into the config FILE:
    TYPE: ...`` for the first option that does not merge alone (all of
    them if each does), with its own error."""
    for key, value in options.items():
        try:
            copy.deepcopy(cfg).merge_from_dict({key: value})
        except Exception as e:  # noqa: B902 -- the one named below
            named, error = f'{key}={value!r}', e
            break
    else:
        named = ' '.join(f'{key}={value!r}' for key, value in options.items())
    where = f' {cfg.filename}' if cfg.filename else ''
    return (f'--cfg-options {named} cannot be merged into the config{where}: '
            f'{type(error).__name__}: {error}')


def merge_cfg_options(cfg: Config, options: Optional[dict]) -> Config:
    """Merge ``--cfg-options`` into ``cfg``, as MMEngine's tools do.

    Args:
        cfg (Config): The config; changed in place.
        options (dict, optional): The options; None or empty merges
            nothing.

    Returns:
        Config: ``cfg``.

    Raises:
        CfgOptionsError: ``--cfg-options KEY=VALUE cannot be merged into
            the config FILE: KeyError: ...`` for a list index the config
            does not have, a key path through a value that is no dict, or
            a value that cannot replace the config's (a dict where the
            config has None), instead of MMEngine's traceback.
        ConfigError: For a variable that the config copied into other
            keys, so that setting it changes nothing
            (:func:`~.cfgopt_variables.refuse_copied_variables`).
    """
    if options:
        old = unread_variables(cfg, options)
        try:
            # MMEngine sets the merged dict only once it is whole: a failed
            # merge leaves ``cfg`` as it was, to merge each option alone.
            cfg.merge_from_dict(options)
        except Exception as e:  # MMEngine's KeyError, TypeError, ...
            raise CfgOptionsError(_unmerged(cfg, options, e)) from e
        refuse_copied_variables(cfg, options, old)
    return cfg
