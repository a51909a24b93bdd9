# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One config read at a time in the process.

MMEngine's ``Config.fromfile`` is not thread-safe: reading a config with an
``mmaction::`` or ``mmpretrain::`` base, it asks ``is_installed``, which
reloads ``pkg_resources`` (``importlib.reload``) while another thread's read
looks the package up in it. Two threads reading such a config at once
(mmaction2's ``init_recognizer``, mmpretrain's ``get_model``, our
``init_model``, ``ModelInferencer`` and ``add_task``, tools run in threads)
failed now and then with ``TypeError: 'DistInfoDistribution' object is not
iterable`` (10 to 14 of 60 reads of two threads). Every config read passes
:func:`one_read_at_a_time`: MMEngine's ``Config.fromfile`` as
:func:`~.config_file_guard.guard_config_file_reads` wraps it for everyone,
and the unwrapped one :func:`~.config_loading.read_config` calls; our one
other caller of ``is_installed``
(:func:`~.config_key_writer.key_writer`) takes :data:`CONFIG_READ_LOCK`
around it.

CPython 3.11's ``ast.parse`` is not thread-safe either (CPython
gh-106905): two threads parsing at once, one of them MMEngine's reader
parsing a config, fail with ``SystemError: AST constructor recursion depth
mismatch`` when the collector runs Python code in the middle of one parse.
Every ``ast.parse`` of the package is :func:`parse_source`, which holds the
same lock, so it never runs beside MMEngine's parse or another of ours.
"""
import ast
import functools
import threading
from typing import Callable

__all__ = ['CONFIG_READ_LOCK', 'one_read_at_a_time', 'parse_source']

#: Held while MMEngine reads a config file and while :func:`parse_source`
#: parses. A leaf: nothing holding it takes
#: another lock of this package (a config read runs MMEngine's reader and
#: the config's ``custom_imports``, none of which takes one), so it cannot
#: close a cycle with
#: :data:`~mmadaptformer.utils.default_scope_lock.SCOPE_LOCK` or an
#: inferencer's lock, whichever of those its thread holds. Not
#: ``SCOPE_LOCK`` itself: that one is held through an inferencer's whole
#: call, and a config read (mmaction2's ``init_recognizer`` in another
#: thread) would wait for it; and ``Config.fromfile`` called by code that
#: holds an inferencer's lock alone would take ``SCOPE_LOCK`` second, the
#: order that lock forbids. Re-entrant: a read inside a read (a module of
#: a config's ``custom_imports`` that reads a config as it is imported)
#: does not wait on itself, nor a parse (:func:`parse_source`) inside a
#: read.
CONFIG_READ_LOCK = threading.RLock()


def one_read_at_a_time(fromfile: Callable) -> Callable:
    """``fromfile`` (MMEngine's ``Config.fromfile``), holding
    :data:`CONFIG_READ_LOCK` while it reads.

    Args:
        fromfile (Callable): The reader, called with the arguments given.

    Returns:
        Callable: The reader, one call at a time in the process.
    """

    @functools.wraps(fromfile)
    def serialised(*args, **kwargs):
        with CONFIG_READ_LOCK:
            return fromfile(*args, **kwargs)

    return serialised


def parse_source(source: str,
                 filename: str = '<unknown>',
                 mode: str = 'exec') -> ast.AST:
    """``ast.parse(source, filename, mode)``, holding
    :data:`CONFIG_READ_LOCK`: CPython 3.11's is not thread-safe.

    Args:
        source (str): The Python text.
        filename (str): The name a ``SyntaxError`` gives. Defaults to
            ``'<unknown>'``, as ``ast.parse``.
        mode (str): ``'exec'``, ``'eval'`` or ``'single'``, as
            ``ast.parse``. Defaults to ``'exec'``.

    Returns:
        ast.AST: The tree.

    Raises:
        SyntaxError: If ``source`` is not Python.
    """
    with CONFIG_READ_LOCK:
        return ast.parse(source, filename=filename, mode=mode)
