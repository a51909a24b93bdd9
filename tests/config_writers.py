# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Child configs that tests write, and the Runner of one."""
import os
import os.path as osp
from typing import Dict


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


def pretrained_cfg(path: str) -> str:
    """Config lines that load the tiny backbone from a full checkpoint."""
    return ('model = dict(backbone=dict(backbone=dict(init_cfg=dict('
            f"_delete_=True, type='Pretrained', checkpoint={path!r}, "
            "prefix='backbone.'))))\n")


def stepped_run_config(tmp_path, tiny_image_data: str, checkpoint: str):
    """The tiny image config with ``filename_tmpl='ep{}/model.pth'``, work
    dir ``tmp_path/W`` and ``load_from`` a copy of ``checkpoint`` at
    ``W/ep2/model.pth``: a new run from a file its own hook writes."""
    import shutil

    from mmengine.config import Config
    from repo_paths import TINY_IMAGE_CONFIG
    work = tmp_path / 'W'
    (work / 'ep2').mkdir(parents=True)
    start = work / 'ep2' / 'model.pth'
    shutil.copy(checkpoint, start)
    cfg = Config.fromfile(
        write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                     image_data_cfg(tiny_image_data)))
    cfg.work_dir = str(work)
    cfg.load_from = str(start)
    cfg.default_hooks.checkpoint.filename_tmpl = 'ep{}/model.pth'
    return cfg
