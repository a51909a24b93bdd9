# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Helpers shared by the tests: paths, child configs and tool runners."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
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
             check: bool = True) -> subprocess.CompletedProcess:
    """Run ``tools/<args[0]>`` the way a user does, from a shell."""
    script = osp.join(TOOLS, args[0])
    cmd = (['bash', script] if script.endswith('.sh') else
           [sys.executable, script]) + [str(a) for a in args[1:]]
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited {proc.returncode}:\n'
                             f'{proc.stdout[-6000:]}')
    return proc


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
