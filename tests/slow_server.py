# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A real 127.0.0.1 file server whose answers wait for the test: a
download that is still going on while the test checks who answers."""
import shutil
import threading

from file_server import QuietHandler

#: How long the server holds an answer at most: on code that downloads
#: under a lock, a call waited that long.
HOLD = 20


class SlowServer:
    """Serves copies of checkpoints, each answer held until
    :meth:`release` (at most :data:`HOLD` seconds); run it with
    ``file_server.serving(server.root, server.handler)``."""

    def __init__(self, root) -> None:
        self.root = root
        self.requests = 0
        self.changed = threading.Condition()
        self.released = threading.Event()
        server = self

        class Handler(QuietHandler):

            def do_GET(self):
                with server.changed:
                    server.requests += 1
                    server.changed.notify_all()
                server.released.wait(HOLD)
                super().do_GET()

        self.handler = Handler

    def wait_requests(self, num: int, timeout: float) -> bool:
        """Whether ``num`` requests came in within ``timeout`` seconds."""
        with self.changed:
            return self.changed.wait_for(lambda: self.requests >= num, timeout)

    def release(self) -> None:
        self.released.set()

    def serve(self, checkpoint: str, name: str) -> str:
        """Serve a copy of ``checkpoint`` as ``name``; the name."""
        shutil.copy(checkpoint, self.root / name)
        return name


def slow_server(tmp_path, monkeypatch) -> SlowServer:
    """A :class:`SlowServer` over an empty folder, and the download caches
    in ``tmp_path`` (the body of a test module's fixture)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    root = tmp_path / 'served'
    root.mkdir()
    return SlowServer(root)
