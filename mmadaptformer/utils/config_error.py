# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The error of a config that asks for what cannot be built or run."""

__all__ = ['ConfigError']


class ConfigError(ValueError):
    """A config asks for something the package cannot build or run: the
    message names the config key or the module and what is accepted.

    The tools end with it on one line (see
    :data:`mmadaptformer.engine.REFUSALS`).
    """
