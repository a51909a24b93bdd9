# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A download follows redirects to ``http(s)`` addresses only, with a real
HTTP server on 127.0.0.1: urllib also followed one to ``ftp://``, so a
server could send the download to an FTP server of the user's network,
and the failure read as the first server's (``Connection refused``)."""
import http.server
import io

import pytest
import torch
from file_server import serving
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import CheckpointLoadError


class Redirecting(http.server.BaseHTTPRequestHandler):
    """``/to?LOCATION`` redirects there; any other path is a checkpoint."""

    def __init__(self, *args, directory=None, **kwargs):
        super().__init__(*args, **kwargs)

    def do_GET(self):
        if self.path.startswith('/to?'):
            self.send_response(302)
            self.send_header('Location', self.path[len('/to?'):])
            self.end_headers()
            return
        buffer = io.BytesIO()
        torch.save({'state_dict': {'w': torch.ones(2)}}, buffer)
        self.send_response(200)
        self.send_header('Content-Length', str(len(buffer.getvalue())))
        self.end_headers()
        self.wfile.write(buffer.getvalue())

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    with serving(tmp_path, Redirecting) as httpd:
        yield httpd


def test_a_redirect_to_ftp_is_not_followed(server):
    url = f'{server.url}/to?ftp://127.0.0.1:1/x.pth'
    with pytest.raises(CheckpointLoadError) as info:
        CheckpointLoader.load_checkpoint(url)
    assert str(info.value).startswith(
        f'Could not download checkpoint {url}: HTTP 302 Found: redirected to '
        'ftp://127.0.0.1:1/x.pth, which is not an http(s) address, and not '
        'followed.')


def test_a_redirect_to_http_is_followed(server):
    """Kept behaviour: a redirect to another http address (a release
    page's download link) is downloaded."""
    url = f'{server.url}/to?{server.url}/file/x.pth'
    loaded = CheckpointLoader.load_checkpoint(url)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
