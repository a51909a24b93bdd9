# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The error of a config that asks for what cannot be built or run."""

__all__ = ['ConfigError', 'NotAConfigFileError']


class ConfigError(ValueError):
    """A config asks for something the package cannot build or run: the
    message names the config key or the module and what is accepted.

    The tools end with it on one line (see
    :data:`mmadaptformer.engine.REFUSALS`).
    """


class NotAConfigFileError(ConfigError, OSError):
    """A file given where a config goes that MMEngine does not read as one
    (a checkpoint, a video, an image): the message says what it is and the
    order the tools and APIs take their files in.

    An :class:`OSError` as well, as MMEngine's own ``Config.fromfile``
    error for such a file is, so code that caught that still catches it.
    """
