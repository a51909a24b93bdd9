# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run a checkout's command-line tools from a script, as a user runs them,
each one's output going to a log file.

:class:`ToolRunner` starts a tool as a process of its own
(:meth:`~ToolRunner.run`) or runs a ``tools/`` script's ``main`` in the
calling process (:meth:`~ToolRunner.run_here`), which saves importing the
stack again; either fails with the log's tail. :func:`descriptors_to` points
file descriptors 1 and 2 at a log meanwhile, and
:func:`ffmpeg_tag_warnings_to` keeps the warning OpenCV's FFmpeg writer
prints for every webm video out of what a person reads.
"""
import contextlib
import importlib.util
import os
import os.path as osp
import re
import subprocess
import sys
import time
import traceback
from typing import Dict, Iterator, List, Optional, Sequence, TextIO

import torch

__all__ = [
    'FFMPEG_TAG_WARNING', 'ToolRunner', 'descriptors_to',
    'ffmpeg_tag_warnings_to'
]

# What OpenCV's FFmpeg writer prints for every webm (VP9) video it writes:
# harmless (it falls back to the right tag), and printed with fprintf, so
# neither OPENCV_LOG_LEVEL nor cv2.utils.logging silences it (measured with
# OpenCV 5.0 and 5.1).
FFMPEG_TAG_WARNING = re.compile(
    r"FFMPEG: (tag 0x[0-9a-f]+/'.{4}' is not supported|fallback to use tag)")


@contextlib.contextmanager
def ffmpeg_tag_warnings_to(log_path: str) -> Iterator[None]:
    """Send what is printed to stderr (file descriptor 2, where OpenCV's
    FFmpeg writer prints) to ``log_path`` meanwhile; afterwards show every
    line but the FFmpeg tag warnings (:data:`FFMPEG_TAG_WARNING`)."""
    with open(log_path, 'w+') as log:
        with descriptors_to(log, (2, )):
            yield
        log.seek(0)
        sys.stderr.writelines(
            line for line in log if not FFMPEG_TAG_WARNING.search(line))
        sys.stderr.flush()


@contextlib.contextmanager
def descriptors_to(log: TextIO, fds: Sequence[int]) -> Iterator[None]:
    """Point file descriptors ``fds`` (1 for stdout, 2 for stderr) at the
    open file ``log`` meanwhile, with ``sys.stdout``/``sys.stderr`` as new
    streams on them (whatever they were before: a test's capture, say);
    loggers made meanwhile keep those streams, which write to the restored
    descriptors afterwards."""
    names = {1: 'stdout', 2: 'stderr'}
    streams = {fd: getattr(sys, names[fd]) for fd in fds}
    saved = {}
    for fd in fds:
        streams[fd].flush()
        saved[fd] = os.dup(fd)
        os.dup2(log.fileno(), fd)
        setattr(sys, names[fd], open(fd, 'w', buffering=1, closefd=False))
    try:
        yield
    finally:
        for fd in fds:
            getattr(sys, names[fd]).flush()
            setattr(sys, names[fd], streams[fd])
            os.dup2(saved[fd], fd)
            os.close(saved[fd])


def _failed(what: str, how: object, log_path: str) -> RuntimeError:
    tail = open(log_path).read()[-3000:]
    return RuntimeError(f'{what} failed ({how}); log {log_path}:\n{tail}')


class ToolRunner:
    """Runs the tools of one checkout, each one's output to a log file.

    Args:
        repo (str): The checkout's root: the working directory of a tool
            process, the first entry of its ``PYTHONPATH``, and where
            ``tools/`` is.
        module_prefix (str): Prefix of the module name a ``tools/`` script
            run in this process gets. Defaults to ``'tool_'``.
    """

    def __init__(self, repo: str, module_prefix: str = 'tool_') -> None:
        self.repo = repo
        self.module_prefix = module_prefix

    def run(self,
            cmd: List[str],
            log_path: str,
            env: Optional[Dict[str, str]] = None) -> float:
        """Run a tool, log its output to a file; fail with the log's tail.

        Args:
            cmd (list[str]): The command.
            log_path (str): Where its stdout and stderr go.
            env (dict, optional): Extra environment variables. Defaults to
                None. ``OMP_NUM_THREADS`` is 1 unless set.

        Returns:
            float: Seconds it ran.

        Raises:
            RuntimeError: If it exits with another code than 0.
        """
        full_env = dict(os.environ, **(env or {}))
        full_env.setdefault('OMP_NUM_THREADS', '1')
        full_env['PYTHONPATH'] = self.repo + os.pathsep + full_env.get(
            'PYTHONPATH', '')
        start = time.time()
        with open(log_path, 'w') as log:
            proc = subprocess.run(
                cmd,
                cwd=self.repo,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            raise _failed(' '.join(cmd), proc.returncode, log_path)
        return time.time() - start

    def run_here(self, tool: str, argv: list, log_path: str) -> None:
        """Run ``tools/<tool>``'s ``main(argv)`` in this process, which has
        already imported what the tool imports; its output (file
        descriptors 1 and 2) goes to ``log_path``. Fail with the log's
        tail, as :meth:`run`. It runs with one thread, as :meth:`run`'s
        processes do.

        Args:
            tool (str): The script, relative to ``tools/``.
            argv (list): Its arguments (made strings).
            log_path (str): Where its output goes.

        Raises:
            RuntimeError: If it raises, or exits with another code than 0.
        """
        spec = importlib.util.spec_from_file_location(
            self.module_prefix + osp.splitext(osp.basename(tool))[0],
            osp.join(self.repo, 'tools', tool))
        module = importlib.util.module_from_spec(spec)
        argv = [str(a) for a in argv]
        threads = torch.get_num_threads()
        failure = None
        with open(log_path, 'w') as log, descriptors_to(log, (1, 2)):
            torch.set_num_threads(1)
            try:
                spec.loader.exec_module(module)
                module.main(argv)
            except SystemExit as e:  # argparse and the tools' own error exits
                if e.code not in (None, 0):
                    failure = e
                    if not isinstance(e.code, int):  # as the interpreter does
                        sys.stderr.write(f'{e.code}\n')
            except Exception as e:
                failure = e
                traceback.print_exc()
            finally:
                torch.set_num_threads(threads)
        if failure is not None:
            raise _failed(f'tools/{tool} {" ".join(argv)}', repr(failure),
                          log_path) from failure
