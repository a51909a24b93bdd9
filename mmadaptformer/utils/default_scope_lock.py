# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The one process-wide lock around MMEngine's default scope."""
import threading

__all__ = ['SCOPE_LOCK']

#: Held while one of this package's inference APIs sets and reads MMEngine's
#: default scope (building a model or a test pipeline, running a call). That
#: scope is one per process (``init_default_scope``), so a video model's call
#: in one thread set it to ``mmaction`` in the middle of an image model's
#: build in another: ``KeyError: 'ImageClassifier is not in the
#: mmaction::model registry'``.
#:
#: Whoever takes it together with another lock takes it first: one that
#: took its own lock first (an inferencer's) and waited here could wait for
#: ever on a thread that holds this one and calls that inferencer.
#: Config files are not read under it: MMEngine's ``Config.fromfile`` takes
#: a lock of its own (:data:`~.config_read_lock.CONFIG_READ_LOCK`), which
#: may be taken while this one is held, never the other way round.
SCOPE_LOCK = threading.RLock()
