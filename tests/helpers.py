# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Helpers shared by the tests: paths, child configs and tool runners."""
import atexit
import contextlib
import importlib.util
import json
import os
import os.path as osp
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from types import ModuleType
from typing import Dict, List, Optional, Sequence

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO_ROOT, 'configs')
TOOLS = osp.join(REPO_ROOT, 'tools')
TINY_VIDEO_CONFIG = osp.join(CONFIGS, 'tiny', 'tiny_vit_video.py')
TINY_IMAGE_CONFIG = osp.join(CONFIGS, 'tiny', 'tiny_vit_image.py')
#: A two-block mmaction2 VideoMAE ViT on 4x32x32 clips, as a backbone
#: config (copy it with ``dict(VIDEO_HOST)`` before building).
VIDEO_HOST = dict(
    type='mmaction.VisionTransformer',
    img_size=32,
    patch_size=16,
    embed_dims=64,
    depth=2,
    num_heads=2,
    num_frames=4)


def load_tool(path: str) -> ModuleType:
    """Import a script under ``tools/`` as a module, without running its
    ``main``; e.g. ``load_tool('analysis_tools/get_flops.py')``."""
    name = 'mmadaptformer_tool_' + path[:-3].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, osp.join(TOOLS, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FailsToPickle:
    """A checkpoint value whose pickling raises, so that ``torch.save``
    fails after writing what comes before it."""

    def __reduce__(self):
        raise RuntimeError('this value cannot be pickled')


def video_data_cfg(data: Dict[str, str]) -> str:
    """Config lines that point the tiny video config at ``data``."""
    lines = []
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'val'), ('test_dataloader',
                                                      'val')):
        lines.append(f'{loader} = dict(dataset=dict(ann_file={data[split]!r}, '
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


#: Config lines of a training run without validation and without
#: checkpoints (every 10 epochs, none last).
TRAIN_ONLY_CFG = ('val_dataloader = None\nval_cfg = None\n'
                  'val_evaluator = None\ndefault_hooks = dict(checkpoint='
                  'dict(interval=10, save_last=False))\n')


def config_runner(tmp_path, base: str, body: str = ''):
    """The Runner of ``base`` with ``body`` appended, written as
    ``tmp_path/cfg.py``; its work dir is ``tmp_path/work``."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', base, body))
    cfg.work_dir = str(tmp_path / 'work')
    return Runner.from_cfg(cfg)


def write_config_chain(root: str, base: str, body: str = '') -> dict:
    """A config under ``root/configs`` that inherits ``base`` (by absolute
    path) and ``_base_/mid.py``, which inherits ``models/leaf.json`` in
    turn (two levels deep, in another format); returns their paths
    (``config``, ``mid``, ``leaf``)."""
    folder = osp.join(root, 'configs', '_base_', 'models')
    os.makedirs(folder, exist_ok=True)
    paths = dict(
        config=osp.join(root, 'configs', 'task.py'),
        mid=osp.join(root, 'configs', '_base_', 'mid.py'),
        leaf=osp.join(folder, 'leaf.json'))
    with open(paths['leaf'], 'w') as f:
        f.write('{"leaf_note": 1}\n')
    with open(paths['mid'], 'w') as f:
        f.write("_base_ = './models/leaf.json'\nmid_note = 2\n")
    with open(paths['config'], 'w') as f:
        f.write(f"_base_ = [{base!r}, './_base_/mid.py']\n{body}")
    return paths


def _tool_cmd(args: List[str]) -> List[str]:
    script = osp.join(TOOLS, args[0])
    return (['bash', script] if script.endswith('.sh') else
            [sys.executable, script]) + [str(a) for a in args[1:]]


def _tool_env(env: Optional[Dict[str, str]]) -> Dict[str, str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault('OMP_NUM_THREADS', '1')
    return full_env


def run_tool(args: List[str],
             cwd: str,
             env: Optional[Dict[str, str]] = None,
             timeout: int = 300,
             check: bool = True,
             fresh: bool = False,
             separate_stderr: bool = False) -> subprocess.CompletedProcess:
    """Run ``tools/<args[0]>`` the way a user does, from a shell.

    A Python tool runs as a child process forked from a server that has
    imported the stack once (``tests/tool_server.py``), which saves the
    imports' seconds per run; ``fresh=True`` starts a new interpreter, for
    tests of what happens while it imports. A ``.sh`` tool always starts
    fresh. Its stdout and stderr come back together in ``stdout``, or
    apart with ``separate_stderr=True``.
    """
    cmd = _tool_cmd(args)
    full_env = _tool_env(env)
    if fresh or cmd[0] == 'bash':
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if separate_stderr else subprocess.STDOUT,
            text=True,
            timeout=timeout)
    else:
        proc = _TOOL_SERVER.run(cmd, str(cwd), full_env, timeout,
                                separate_stderr)
    _check(proc, check)
    return proc


def run_python_command(cmd: List[str], cwd: str, env: Dict[str, str],
                       timeout: float) -> subprocess.CompletedProcess:
    """Run ``[sys.executable, SCRIPT, args...]`` as :func:`run_tool` runs a
    Python tool: forked from the tool server, in a session of its own,
    killed (with what it started) on the timeout."""
    assert cmd[0] == sys.executable and cmd[1].endswith('.py'), cmd
    return _TOOL_SERVER.run(cmd, str(cwd), env, timeout)


def _check(proc: subprocess.CompletedProcess, check: bool) -> None:
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(proc.args)} exited '
                             f'{proc.returncode}:\n{proc.stdout[-6000:]}'
                             f'{(proc.stderr or "")[-6000:]}')


def start_tool(args: List[str],
               cwd: str,
               output: str,
               env: Optional[Dict[str, str]] = None) -> 'ServedProcess':
    """Start the Python tool ``tools/<args[0]>`` as :func:`run_tool` runs
    it, without waiting for it; its stdout and stderr go to ``output``.
    It runs in a session of its own (``os.killpg(proc.pid, ...)`` reaches
    it and whatever it starts)."""
    assert args[0].endswith('.py'), f'{args[0]}: not a Python tool'
    return _TOOL_SERVER.start(
        _tool_cmd(args), str(cwd), _tool_env(env), str(output))


def start_ranks(args: List[str],
                nproc: int,
                cwd: str,
                port: int,
                outputs: List[str],
                env: Optional[Dict[str, str]] = None) -> List['ServedProcess']:
    """Start ``tools/<args[0]> ... --launcher pytorch`` as ``nproc`` ranks
    of a CPU DDP run (gloo), the way torchrun starts its workers: one
    process per rank with ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
    ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set, each in a
    session of its own, rank ``r`` writing to ``outputs[r]``. The ranks are
    forked from the tool server, which saves a launcher and ``nproc``
    interpreters' imports; the launcher itself (``dist_train.sh``, torchrun)
    has tests of its own."""
    procs = []
    for rank in range(nproc):
        rank_env = dict(
            env or {},
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(nproc),
            LOCAL_WORLD_SIZE=str(nproc),
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port))
        procs.append(
            start_tool(
                list(args) + ['--launcher', 'pytorch'], cwd, outputs[rank],
                rank_env))
    return procs


def run_ranks(args: List[str],
              nproc: int,
              cwd: str,
              port: int,
              env: Optional[Dict[str, str]] = None,
              timeout: int = 300,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run :func:`start_ranks` to the end of every rank. ``stdout`` holds
    the ranks' output, rank 0's first; ``returncode`` is the first non-zero
    exit code of a rank, or 0. On the timeout every rank is killed."""
    with tempfile.TemporaryDirectory(prefix='ranks_') as tmp:
        outputs = [osp.join(tmp, f'rank{r}.log') for r in range(nproc)]
        procs = start_ranks(args, nproc, cwd, port, outputs, env)
        deadline = time.monotonic() + timeout
        try:
            for proc in procs:
                proc.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            raise subprocess.TimeoutExpired(
                procs[0].args, timeout, output=_read_all(outputs))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(60)
        codes = [p.returncode for p in procs if p.returncode != 0]
        result = subprocess.CompletedProcess(procs[0].args,
                                             codes[0] if codes else 0,
                                             _read_all(outputs))
    _check(result, check)
    return result


def _read_all(paths: List[str]) -> str:
    return ''.join(
        open(p, errors='replace').read() for p in paths if osp.exists(p))


class ServedProcess:
    """A tool run forked from the tool server, with the part of
    :class:`subprocess.Popen`'s interface that the tests use."""

    def __init__(self, server: '_ToolServer', args: List[str]):
        self._server = server
        self.args = args
        self.pid: Optional[int] = None
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        while self.returncode is None and self._server.pump(time.monotonic()):
            pass
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if not self._server.pump(deadline):
                raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def kill(self) -> None:
        """SIGKILL the process and its session."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class _ToolServer:
    """The client of ``tests/tool_server.py``: one server per pytest
    process, started on first use and restarted after anything unexpected."""

    def __init__(self, preload: Optional[Sequence[str]] = None):
        self.preload = preload  # None: the server's own PRELOAD
        self.proc = None
        self.buffer = b''
        self.running: Dict[int, ServedProcess] = {}
        self.next_id = 0

    def _start(self):
        self.log = tempfile.NamedTemporaryFile(
            prefix='tool_server_', suffix='.log', delete=False)
        # The socket of served torchrun workers and their PYTHON_EXEC.
        self.dir = tempfile.mkdtemp(prefix='tool_server_')
        self.socket = osp.join(self.dir, 'socket')
        self.python_exec = osp.join(self.dir, 'python')
        with open(self.python_exec, 'w') as f:
            f.write(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S '
                    f"{shlex.quote(osp.join(REPO_ROOT, 'tests'))}"
                    '/served_python.py "$@"\n')
        os.chmod(self.python_exec, 0o755)
        env = dict(os.environ)
        if self.preload is not None:
            from tool_server import PRELOAD_VARIABLE
            env[PRELOAD_VARIABLE] = ','.join(self.preload)
        self.proc = subprocess.Popen([
            sys.executable,
            osp.join(REPO_ROOT, 'tests', 'tool_server.py'), self.socket
        ],
                                     cwd=REPO_ROOT,
                                     env=env,
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self.log)
        self.buffer = b''
        self.running = {}
        if self._read(time.monotonic() + 300) is None:  # {"ready": pid}
            self.stop()
            raise RuntimeError('tests/tool_server.py did not start in 300 s')

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.unlink(self.log.name)
            shutil.rmtree(self.dir, ignore_errors=True)
        self.proc = None

    def _ensure_started(self):
        if self.proc is None or self.proc.poll() is not None:
            self._start()

    def torchrun_worker_env(self) -> Dict[str, str]:
        """The environment that makes torchrun fork its workers from this
        server (see ``tests/tool_server.py``); starts the server."""
        from served_python import SOCKET_VARIABLE
        self._ensure_started()
        return {'PYTHON_EXEC': self.python_exec, SOCKET_VARIABLE: self.socket}

    def _read(self, deadline: Optional[float]) -> Optional[dict]:
        """The server's next answer, or None at the deadline."""
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.buffer:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left < 0:
                left = 0
            if not select.select([fd], [], [], left)[0]:
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

    def pump(self, deadline: Optional[float]) -> bool:
        """Take in one answer of the server; False if none came by the
        deadline."""
        answer = self._read(deadline)
        if answer is None:
            return False
        proc = self.running[answer['id']]
        if 'pid' in answer:
            proc.pid = answer['pid']
        else:
            proc.returncode = answer['returncode']
            del self.running[answer['id']]
        return True

    def start(self,
              cmd: List[str],
              cwd: str,
              env: Dict[str, str],
              output: str,
              error: Optional[str] = None) -> ServedProcess:
        self._ensure_started()
        proc = ServedProcess(self, cmd)
        self.next_id += 1
        self.running[self.next_id] = proc
        request = dict(
            id=self.next_id,
            script=cmd[1],
            argv=cmd[2:],
            cwd=cwd,
            env=env,
            output=output,
            error=error)
        self.proc.stdin.write(json.dumps(request).encode() + b'\n')
        self.proc.stdin.flush()
        deadline = time.monotonic() + 60
        while proc.pid is None:
            if not self.pump(deadline):
                self.stop()
                raise RuntimeError('tests/tool_server.py did not start '
                                   f'{cmd[1]} within 60 s')
        return proc

    def run(self,
            cmd: List[str],
            cwd: str,
            env: Dict[str, str],
            timeout: float,
            separate_stderr: bool = False) -> subprocess.CompletedProcess:
        """Run ``cmd`` and wait; stdout and stderr together (or apart,
        with ``separate_stderr``)."""
        with tempfile.NamedTemporaryFile(
                prefix='tool_output_', suffix='.log') as output, \
                (tempfile.NamedTemporaryFile(prefix='tool_error_',
                                             suffix='.log')
                 if separate_stderr else contextlib.nullcontext()) as error:
            proc = self.start(cmd, cwd, env, output.name,
                              error.name if error else None)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise subprocess.TimeoutExpired(
                    cmd, timeout, output=open(output.name).read())
            finally:
                if proc.returncode is None:  # a timeout or an interrupt
                    proc.kill()
                    proc.wait(60)
            text = open(output.name, errors='replace').read()
            errors = open(error.name, errors='replace').read() \
                if error else None
        return subprocess.CompletedProcess(cmd, proc.returncode, text, errors)


_TOOL_SERVER = _ToolServer()
atexit.register(_TOOL_SERVER.stop)
# Children of this one are as fresh as a new interpreter after `import
# torch`: for tests of what importing the package or the toolboxes does.
_FRESH_SERVER = _ToolServer(preload=('torch', ))
atexit.register(_FRESH_SERVER.stop)


def run_fresh_python(
        code: str,
        *args,
        cwd: str = REPO_ROOT,
        env: Optional[Dict[str, str]] = None,
        timeout: float = 300,
        separate_stderr: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -c CODE ARGS`` in a process that has imported nothing
    but torch: a child of a server that imported torch alone (4.6 of the
    7 to 12 CPU-seconds a new interpreter spends before such a test's first
    check). ``sys.argv[1:]`` is ``args``; stdout and stderr come back apart,
    or together in ``stdout`` with ``separate_stderr=False``.
    """
    with tempfile.TemporaryDirectory(prefix='fresh_python_') as folder:
        script = osp.join(folder, 'code.py')
        with open(script, 'w') as f:
            f.write(textwrap.dedent(code))
        return _FRESH_SERVER.run(
            [sys.executable, script] + [str(a) for a in args],
            str(cwd),
            _tool_env(env),
            timeout,
            separate_stderr=separate_stderr)


def torchrun_worker_env() -> Dict[str, str]:
    """``PYTHON_EXEC`` and the socket that make torchrun fork its workers
    from the tool server (see ``tests/tool_server.py``)."""
    return _TOOL_SERVER.torchrun_worker_env()


TINY_ADAPTFORMER_VIDEO_CONFIG = osp.join(CONFIGS, 'tiny',
                                         'tiny_adaptformer_video.py')
TINY_ADAPTFORMER_RAWFRAMES_CONFIG = osp.join(CONFIGS, 'tiny',
                                             'tiny_adaptformer_rawframes.py')


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


def save_as_built_checkpoint(config: str, path: str) -> str:
    """A full checkpoint of ``config``'s model as
    :func:`~mmadaptformer.apis.init_model` builds it (random weights), for
    tests of what the inference APIs do before or around the weights: they
    take no model without a checkpoint."""
    import torch

    from mmadaptformer.apis import init_model
    torch.manual_seed(0)
    model, _ = init_model(config)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def assert_host_loads_pretrained(cfg: dict,
                                 tmp_path,
                                 host_cfg: Optional[dict] = None) -> None:
    """A checkpoint of the stock backbone ``cfg`` (MMEngine layout,
    ``backbone.`` keys) loads into an AdaptFormer on it (on ``host_cfg``,
    if given) through the ``Pretrained`` init_cfg that ``--pretrained``
    sets."""
    import torch
    from mmengine.registry import MODELS

    from mmadaptformer.models import AdaptFormer
    torch.manual_seed(0)
    stock = MODELS.build(cfg)
    stock.init_weights()
    expected = stock.state_dict()
    path = str(tmp_path / 'pretrained.pth')
    torch.save(
        {'state_dict': {f'backbone.{k}': v
                        for k, v in expected.items()}}, path)
    torch.manual_seed(1)
    model = AdaptFormer(
        backbone=dict(
            host_cfg or cfg,
            init_cfg=dict(
                type='Pretrained', checkpoint=path, prefix='backbone.')))
    model.init_weights()
    assert model.host_source == path
    for key in ('pretrained', 'pretrained2d', 'clip_pretrained'):
        if key in (host_cfg or {}):  # the host's own settings are kept
            assert getattr(model.backbone, key) == host_cfg[key], key
    state = model.state_dict()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key


def stripes_config(tmp_path, data: str, extra: str = '') -> str:
    """The tiny ViT image task (``tiny_image_data``) as AdaptFormer
    (adapters in the last block), with ``extra`` config lines:
    ``tmp_path/stripes.py``."""
    return write_config(
        osp.join(str(tmp_path), 'stripes.py'), TINY_IMAGE_CONFIG,
        image_data_cfg(data) +
        "model = dict(backbone=dict(_delete_=True, type='AdaptFormer', "
        'adapter=dict(bottleneck=8), layers=[-1], backbone=dict('
        "type='VisionTransformer', arch=dict(embed_dims=64, num_layers=2, "
        'num_heads=2, feedforward_channels=128), img_size=32, '
        "patch_size=16, out_type='cls_token')))\n" + extra)


def stripes_images(data: str) -> List[str]:
    """Two validation images of each class of ``tiny_image_data``."""
    return sorted(
        osp.join(data, 'val', c, f) for c in ('horizontal', 'vertical')
        for f in ('0.png', '1.png'))


#: Pure red (255, 0, 0) after the recipes' mean and std, per RGB channel.
RED_NORMALISED = [(255 - 123.675) / 58.395, -116.28 / 57.12, -103.53 / 57.375]


def recipe_channel_means(config: str, index: int = 0):
    """The per-channel means of test item ``index`` of a recipe (a path
    under ``configs/``, its data found from the working directory) as its
    data preprocessor gives them to the backbone, and that item's data
    info.

    Returns:
        tuple: ``(means, info)``, ``means`` an array of 3 (the channels in
        the backbone's order), ``info`` the dataset's ``get_data_info``.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    video = cfg.model.data_preprocessor.get('type') == 'ActionDataPreprocessor'
    if video:
        from mmaction.registry import DATASETS, MODELS
        preprocessor_cfg = cfg.model.data_preprocessor
    else:
        from mmpretrain.registry import DATASETS, MODELS
        preprocessor_cfg = dict(
            type='ClsDataPreprocessor', **cfg.model.data_preprocessor)
    init_default_scope('mmaction' if video else 'mmpretrain')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    item = dataset[index]
    batch = MODELS.build(preprocessor_cfg)(
        dict(inputs=[item['inputs']], data_samples=[item['data_samples']]))
    inputs = batch['inputs'][0]  # (C, H, W), or (views, C, T, H, W)
    channels = inputs.transpose(0, 1) if video else inputs
    means = channels.reshape(3, -1).mean(dim=1).numpy()
    return means, dataset.get_data_info(index)


def recipe_run_dataset_meta(recipe: str,
                            work_dir: str,
                            num_classes: int,
                            batch_size: Optional[int] = None) -> dict:
    """One epoch of a real Runner on a recipe's training set (the tiny
    image or video ViT at the recipe's 224 crop and 8 frames in place of
    ViT-B, data found from the working directory): the ``dataset_meta``
    MMEngine saved in ``epoch_1.pth``."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmadaptformer.utils import safe_torch_load
    recipe_cfg = Config.fromfile(osp.join(CONFIGS, recipe))
    video = recipe_cfg.model.data_preprocessor.get(
        'type') == 'ActionDataPreprocessor'
    cfg = Config.fromfile(TINY_VIDEO_CONFIG if video else TINY_IMAGE_CONFIG)
    cfg.train_dataloader.dataset = recipe_cfg.train_dataloader.dataset
    if batch_size is not None:
        cfg.train_dataloader.batch_size = batch_size
    cfg.model.backbone.img_size = 224
    if video:
        cfg.model.backbone.num_frames = 8
        cfg.model.cls_head.num_classes = num_classes
    else:
        cfg.model.head.num_classes = num_classes
        cfg.model.data_preprocessor.num_classes = num_classes
    cfg.train_cfg.max_epochs = 1
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.work_dir = work_dir
    Runner.from_cfg(cfg).train()
    checkpoint = safe_torch_load(osp.join(work_dir, 'epoch_1.pth'))
    return checkpoint['meta']['dataset_meta']


def assert_config_paths_refused(tool, name: str, tmp_path, capsys) -> None:
    """The analysis tool ``tool`` (its module, run as ``name``) refuses, as
    command-line errors (exit status 2, was 1 or a traceback) found before
    anything is built: a config of the wrong kind (the stock tiny video
    one, for a tool of AdaptFormer tasks), a missing config, a file that is
    not a config, one without a model, and an ``--out`` that is a folder.
    """
    no_model = tmp_path / 'no_model.py'
    no_model.write_text('x = 1\n')
    notes = tmp_path / 'notes.txt'
    notes.write_text('batch 2\n')
    cases = [
        ([TINY_VIDEO_CONFIG], f'config {TINY_VIDEO_CONFIG}: model.backbone '
         'is VisionTransformer, but this tool measures AdaptFormer tasks'),
        ([str(tmp_path / 'nope.py')], 'no such file'),
        ([str(notes)], 'not a config file'),
        ([str(no_model)], 'it has no model dict'),
        ([TINY_VIDEO_CONFIG, '--out',
          str(tmp_path)], 'it is a folder'),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit:
            tool.main(argv)
        assert exit.value.code == 2
        err = ' '.join(capsys.readouterr().err.split())
        assert f'{name}: error: ' in err and message in err, err


def tool_refusal(tool, argv: List[str], capsys) -> str:
    """Run ``tool`` (a module of :func:`load_tool`) on ``argv``; what it
    said on stderr, ending with exit status 2 (a command-line error)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        tool.main(argv)
    assert refused.value.code == 2
    return capsys.readouterr().err
