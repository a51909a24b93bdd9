# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Build a model for a check before the Runner without its build log."""
import logging
from contextlib import contextmanager
from typing import Iterator

from mmengine.logging import MMLogger

__all__ = ['quiet_build_log']


@contextmanager
def quiet_build_log() -> Iterator[None]:
    """Keep the build log of a model built only to check the config (the
    wrapper's line per adapted block, a stock host's settings such as
    UniFormerV2's) out of the run's log: the Runner builds it again and
    logs it then. Errors are still logged."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
