# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A server that redirects in a loop, or past urllib's limit, ends a load
with one line that says so, naming the address (a real HTTP server on
127.0.0.1).

Before, the error carried urllib's three lines, the last one the status's
reason alone (``tools/test.py`` ended with ``... HTTP 302 The HTTP server
returned a redirect error that would lead to an infinite loop.`` / ``The
last 30x error message was:`` / ``Found. Nothing was kept in the cache
...``).
"""
import http.server

import pytest
from file_server import serving
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import CheckpointLoadError


class Looping(http.server.BaseHTTPRequestHandler):
    """``/loop.pth`` redirects to itself; ``/N.pth`` to ``/N+1.pth``."""

    def __init__(self, *args, directory=None, **kwargs):
        super().__init__(*args, **kwargs)

    def do_GET(self):
        name = self.path.strip('/')
        following = 'loop.pth' if name == 'loop.pth' else \
            f'{int(name.split(".")[0]) + 1}.pth'
        self.send_response(302)
        self.send_header('Location', f'/{following}')
        self.send_header('Content-Length', '0')
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.mark.parametrize('name', ['loop.pth', '0.pth'])
def test_a_redirect_loop_is_one_line_naming_the_address(
        tmp_path, monkeypatch, name):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    with serving(tmp_path, Looping) as httpd:
        url = f'{httpd.url}/{name}'
        with pytest.raises(CheckpointLoadError) as refused:
            CheckpointLoader.load_checkpoint(url)
    message = str(refused.value)
    assert '\n' not in message, message
    assert message.startswith(
        f'Could not download checkpoint {url}: HTTP 302 Found: the server '
        'redirects in a loop (or more than 10 times) and never sends the '
        'file. Nothing was kept in the cache '), message
