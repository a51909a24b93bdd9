# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``AdapterHook(head=[])`` on a model that has a head.

``head=[]`` is documented for a model without a head. On the tiny
AdaptFormer recognizer it trained with the head frozen at its random
initialisation (exit status 0), and the adapter-only checkpoints it wrote
could never be loaded: the head's random values are in their frozen
digest, not in the file. Training now refuses it before the first step,
in ``tools/train.py`` before the work dir is made and in a Runner the user
builds; a model without a head still trains with ``head=[]``."""
import torch
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, video_data_cfg, write_config
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils import ConfigError

FROZEN_HEAD = ("custom_hooks = [dict(type='AdapterHook', head=[], "
               'adapter_only_checkpoint=True)]\n')
ONE_EPOCH = ('train_cfg = dict(max_epochs=1)\nval_cfg = None\n'
             'val_dataloader = None\nval_evaluator = None\n')
REFUSAL = (
    'custom_hooks[0].head = []: AdapterHook head=[] is for a model without '
    'a head, but Recognizer3D has one, cls_head (BNLinearHead, 130 '
    'parameters): it would stay frozen at its random initialisation, and '
    'adapter-only checkpoints, which leave out what is frozen, could never '
    "be loaded. Leave head out (it defaults to ['cls_head', 'head']) or "
    "set head=['cls_head'].")


@MODELS.register_module(force=True)
class HeadlessVideoModel(BaseModel):
    """A model without a head (no ``cls_head``/``head``): its loss is the
    mean square of the backbone's features, as a feature learner's."""

    def __init__(self, backbone: dict, data_preprocessor: dict):
        super().__init__(data_preprocessor=data_preprocessor)
        self.backbone = MODELS.build(backbone)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        feats = self.backbone(inputs.flatten(0, 1))
        if mode == 'loss':
            return dict(loss=feats.float().pow(2).mean())
        return feats


def _config(tmp_path, data, body: str) -> str:
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    return write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(data) + pretrained_cfg(stock) + ONE_EPOCH + body)


def test_train_py_refuses_a_frozen_head_before_the_work_dir(
        tmp_path, tiny_video_data):
    config = _config(tmp_path, tiny_video_data, FROZEN_HEAD)
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    tmp_path,
                    check=False)
    assert refused_line(
        proc, no_dir=str(tmp_path / 'w')) == f'ConfigError: {config}: ' \
        + REFUSAL


def test_a_runner_refuses_a_frozen_head_before_the_first_step(
        tmp_path, tiny_video_data, clean_loggers):
    cfg = Config.fromfile(_config(tmp_path, tiny_video_data, FROZEN_HEAD))
    cfg.work_dir = str(tmp_path / 'w')
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
    except ConfigError as e:
        assert str(e) == f'{cfg.filename}: {REFUSAL}'
    else:
        raise AssertionError('trained with a frozen head')
    assert not list((tmp_path / 'w').glob('*.pth'))


def test_a_model_without_a_head_trains_with_head_empty(tmp_path,
                                                       tiny_video_data,
                                                       clean_loggers):
    """Guards kept behaviour: ``head=[]`` is for a model without one."""
    cfg = Config.fromfile(
        _config(
            tmp_path, tiny_video_data,
            "custom_hooks = [dict(type='AdapterHook', head=[], "
            'adapter_only_checkpoint=True)]\n'
            'optim_wrapper = dict(optimizer=dict(lr=0.1))\n'))
    cfg.model = dict(
        type='HeadlessVideoModel',
        backbone=cfg.model.backbone,
        data_preprocessor=cfg.model.data_preprocessor)
    cfg.work_dir = str(tmp_path / 'w')
    runner = Runner.from_cfg(cfg)
    runner.train()
    saved = torch.load(
        tmp_path / 'w' / 'epoch_1.pth', weights_only=False)['state_dict']
    adapters = [key for key in saved if '.adaptmlp.' in key]
    assert adapters and not [k for k in saved if 'head' in k]
    # The up projections start at zero (the 'lora' init): they trained.
    ups = [k for k in adapters if k.endswith('up_proj.bias')]
    assert ups and all(saved[k].abs().sum() > 0 for k in ups)
