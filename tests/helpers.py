# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Helpers shared by the tests: paths, child configs and tool runners."""
import atexit
import importlib.util
import json
import os
import os.path as osp
import select
import signal
import subprocess
import sys
import tempfile
import time
from types import ModuleType
from typing import Dict, List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO_ROOT, 'configs')
TOOLS = osp.join(REPO_ROOT, 'tools')
TINY_VIDEO_CONFIG = osp.join(CONFIGS, 'tiny', 'tiny_vit_video.py')
TINY_IMAGE_CONFIG = osp.join(CONFIGS, 'tiny', 'tiny_vit_image.py')


def load_tool(path: str) -> ModuleType:
    """Import a script under ``tools/`` as a module, without running its
    ``main``; e.g. ``load_tool('analysis_tools/get_flops.py')``."""
    name = 'mmadaptformer_tool_' + path[:-3].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, osp.join(TOOLS, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def video_data_cfg(data: Dict[str, str]) -> str:
    """Config lines that point the tiny video config at ``data``."""
    lines = []
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'val'), ('test_dataloader',
                                                      'val')):
        lines.append(f"{loader} = dict(dataset=dict(ann_file={data[split]!r}, "
                     f"data_prefix=dict(video={data['videos']!r})))")
    return '\n'.join(lines) + '\n'


def image_data_cfg(root: str) -> str:
    """Config lines that point the tiny image config at ``root``."""
    return ''.join(f'{loader} = dict(dataset=dict(data_root={root!r}))\n'
                   for loader in ('train_dataloader', 'val_dataloader',
                                  'test_dataloader'))


def write_config(path: str, base: str, body: str = '') -> str:
    """Write a child config that inherits ``base`` by absolute path."""
    with open(path, 'w') as f:
        f.write(f'_base_ = [{base!r}]\n{body}')
    return str(path)


def run_tool(args: List[str],
             cwd: str,
             env: Optional[Dict[str, str]] = None,
             timeout: int = 300,
             check: bool = True,
             fresh: bool = False) -> subprocess.CompletedProcess:
    """Run ``tools/<args[0]>`` the way a user does, from a shell.

    A Python tool runs as a child process forked from a server that has
    imported the stack once (``tests/tool_server.py``), which saves the
    imports' seconds per run; ``fresh=True`` starts a new interpreter, for
    tests of what happens while it imports. A ``.sh`` tool always starts
    fresh.
    """
    script = osp.join(TOOLS, args[0])
    cmd = (['bash', script] if script.endswith('.sh') else
           [sys.executable, script]) + [str(a) for a in args[1:]]
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault('OMP_NUM_THREADS', '1')
    if fresh or script.endswith('.sh'):
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout)
    else:
        proc = _TOOL_SERVER.run(cmd, str(cwd), full_env, timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited {proc.returncode}:\n'
                             f'{proc.stdout[-6000:]}')
    return proc


class _ToolServer:
    """The client of ``tests/tool_server.py``: one server per pytest
    process, started on first use and restarted after anything unexpected."""

    def __init__(self):
        self.proc = None
        self.buffer = b''

    def _start(self):
        self.log = tempfile.NamedTemporaryFile(
            prefix='tool_server_', suffix='.log', delete=False)
        self.proc = subprocess.Popen(
            [sys.executable,
             osp.join(REPO_ROOT, 'tests', 'tool_server.py')],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log)
        self.buffer = b''
        self._read(time.monotonic() + 300)  # {"ready": pid}

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.unlink(self.log.name)
        self.proc = None

    def _read(self, deadline: float) -> Optional[dict]:
        """The server's next answer, or None at the deadline."""
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                self.log.flush()
                with open(self.log.name) as f:
                    tail = f.read()[-3000:]
                self.stop()
                raise RuntimeError(
                    f'tests/tool_server.py ended; its log:\n{tail}')
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b'\n', 1)
        return json.loads(line)

    def run(self, cmd: List[str], cwd: str, env: Dict[str, str],
            timeout: float) -> subprocess.CompletedProcess:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        with tempfile.NamedTemporaryFile(
                prefix='tool_output_', suffix='.log') as output:
            request = dict(
                script=cmd[1],
                argv=cmd[2:],
                cwd=cwd,
                env=env,
                output=output.name)
            try:
                self.proc.stdin.write(json.dumps(request).encode() + b'\n')
                self.proc.stdin.flush()
                deadline = time.monotonic() + timeout
                pid = self._read(deadline)['pid']
                answer = self._read(deadline)
                if answer is None:
                    os.killpg(pid, signal.SIGKILL)
                    self._read(time.monotonic() + 60)
                    raise subprocess.TimeoutExpired(
                        cmd, timeout, output=open(output.name).read())
            except BaseException:
                self.stop()
                raise
            text = open(output.name, errors='replace').read()
        return subprocess.CompletedProcess(cmd, answer['returncode'], text)


_TOOL_SERVER = _ToolServer()
atexit.register(_TOOL_SERVER.stop)

TINY_ADAPTFORMER_VIDEO_CONFIG = osp.join(CONFIGS, 'tiny',
                                         'tiny_adaptformer_video.py')


def pretrained_cfg(path: str) -> str:
    """Config lines that load the tiny backbone from a full checkpoint."""
    return ('model = dict(backbone=dict(backbone=dict(init_cfg=dict('
            f"_delete_=True, type='Pretrained', checkpoint={path!r}, "
            "prefix='backbone.'))))\n")


def save_stock_video_checkpoint(path: str, seed: int = 0) -> dict:
    """A full checkpoint of the stock tiny video recognizer, in MMAction2's
    key layout (``backbone.*``, ``cls_head.*``), random weights."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.state_dict()
    torch.save({'state_dict': state, 'meta': {}}, path)
    return state
