# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``PYTHON_EXEC`` of the tests' torchrun runs: a stand-in for
``python -u SCRIPT ARGS`` whose process the tool server forks; also the
``PYTHON`` that ``dist_train.sh`` starts torchrun with (``python
tools/misc/dist_run.py ...``), where a test serves torchrun itself too.

torchrun starts each worker as ``$PYTHON_EXEC -u SCRIPT ARGS``. This stand-in
sends the request, with its file descriptors 0, 1 and 2, to the tool server
of the pytest process that started the run (the socket in
``MMADAPTFORMER_TOOL_SOCKET``), passes the signals torchrun sends on to the
worker's session, and ends as the worker ends: with its exit code, or by the
same signal. See ``tests/tool_server.py``. Anything but a script or module
run (``-c``, no socket) goes to the real interpreter. Only the standard
library is imported: it starts in milliseconds.
"""
import json
import os
import signal
import socket
import sys

SOCKET_VARIABLE = 'MMADAPTFORMER_TOOL_SOCKET'
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1,
             signal.SIGUSR2)


def main() -> None:
    args = sys.argv[1:]
    unbuffered = args[:1] == ['-u']
    if unbuffered:
        args = args[1:]
    path = os.environ.get(SOCKET_VARIABLE)
    request = dict(
        cwd=os.getcwd(), env=dict(os.environ), unbuffered=unbuffered)
    if len(args) > 1 and args[0] == '-m':  # torchrun itself, as PYTHON
        request.update(module=args[1], argv=args[2:])
    elif args and not args[0].startswith('-'):
        request.update(script=args[0], argv=args[1:])
    if not path or 'argv' not in request:
        os.execv(sys.executable, [sys.executable] + sys.argv[1:])
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    socket.send_fds(conn, [json.dumps(request).encode() + b'\n'], [0, 1, 2])
    answers = conn.makefile('rb')
    pid = json.loads(answers.readline())['pid']
    for sig in FORWARDED:
        signal.signal(sig, lambda sig, _: _forward(pid, sig))
    line = answers.readline()
    if not line:
        sys.exit(f'{__file__}: the tool server went away while worker '
                 f'{pid} ran')
    code = json.loads(line)['returncode']
    if code < 0:  # end by the same signal, as the worker did
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


def _forward(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass  # it has just ended; its code is on the way


if __name__ == '__main__':
    main()
