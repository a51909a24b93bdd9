# Copyright (c) mmadaptformer contributors. All rights reserved.
""":class:`~mmadaptformer.engine.ResumeCheckHook` as MMEngine users run
it: carried by every recipe's ``default_hooks``, so that a plain
``Runner.from_cfg`` refuses what ``tools/train.py --resume`` refuses, and
warning that optimizer settings changed since the checkpoint (``lr``,
``weight_decay``, ``momentum``, ``betas``) are replaced by the
checkpoint's. Real runners of the tiny image config on the recipes' base
runtime."""
import glob
import logging
import os.path as osp

import pytest
import torch
from helpers import (CONFIGS, TINY_IMAGE_CONFIG, image_data_cfg, run_tool,
                     write_config)
from mmengine.config import Config
from mmengine.runner import Runner

from mmadaptformer.engine import ResumeCheckHook, ResumeStateError
from mmadaptformer.engine.runner_build import build_runner
from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

# Configs that inherit configs/_base_/default_runtime_*.py.
RECIPES = sorted(
    glob.glob(osp.join(CONFIGS, 'adaptformer_vitb_*.py')) +
    glob.glob(osp.join(CONFIGS, 'baselines', '*.py')))
# A warm-up (which lowers the lr when it is built) and a cosine (which
# moves it every epoch), and a head at 10x the base lr: the resumed run's
# lr is not the config's, nor one value for all param groups.
SGD = ("optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'head': "
       'dict(lr_mult=10.)}))\n'
       "param_scheduler = [dict(type='LinearLR', start_factor=0.1, end=1, "
       "by_epoch=True), dict(type='CosineAnnealingLR', T_max=3, eta_min=0., "
       'by_epoch=True)]\n')
# Adam's betas[0] moved by a momentum schedule.
ADAMW = ("optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', "
         'lr=0.001, betas=(0.9, 0.99), weight_decay=0.05))\n'
         "param_scheduler = [dict(type='CosineAnnealingLR', T_max=3, "
         "by_epoch=True), dict(type='CosineAnnealingMomentum', T_max=3, "
         'by_epoch=True)]\n')

SAVE_BEST = "default_hooks = dict(checkpoint=dict(save_best='auto'))\n"


def _recipe_runtime_config(path, data, body=''):
    """A child of the tiny image config, which runs on the recipes' runtime
    (``configs/_base_/default_runtime_image.py``), saving a ``best_*.pth``
    as the recipes do."""
    assert Config.fromfile(TINY_IMAGE_CONFIG).default_hooks.resume_check
    return write_config(path, TINY_IMAGE_CONFIG,
                        image_data_cfg(data) + SAVE_BEST + body)


@pytest.fixture(scope='module')
def runs(tmp_path_factory, tiny_image_data):
    """The 2-epoch runs of the SGD and the AdamW config, each with
    ``epoch_1.pth`` and a ``best_*.pth``: ``{name: (config, work_dir)}``."""
    root = tmp_path_factory.mktemp('resume_check')
    found = {}
    for name, body in (('sgd', SGD), ('adamw', ADAMW)):
        cfg = _recipe_runtime_config(root / f'{name}.py', tiny_image_data,
                                     body)
        work = root / name
        run_tool(['train.py', cfg, '--work-dir', work, '--seed', '0'],
                 cwd=root)
        found[name] = (cfg, work)
    return found


def _resume(cfg_path, work_dir, checkpoint, **overrides):
    """A runner of ``Runner.from_cfg`` (not our build_runner) that resumes
    from ``checkpoint``, and the warnings its logger gets."""
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work_dir)
    cfg.resume, cfg.load_from = True, str(checkpoint)
    cfg.merge_from_dict(overrides)
    runner = Runner.from_cfg(cfg)
    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    runner.logger.addHandler(handler)
    return runner, warnings


def _resuming(warnings):
    return [w for w in warnings if w.startswith('Resuming from')]


@pytest.mark.parametrize(
    'path', RECIPES, ids=lambda p: osp.relpath(p, CONFIGS))
def test_every_recipe_carries_the_hook_once(path):
    cfg = Config.fromfile(path)
    assert cfg.default_hooks.resume_check == dict(type='ResumeCheckHook')
    assert not [
        h for h in cfg.get('custom_hooks') or []
        if 'ResumeCheckHook' in h['type']
    ]


def test_runner_from_cfg_refuses_a_checkpoint_without_optimizer_state(
        tmp_path, runs, clean_loggers):
    cfg, work = runs['sgd']
    (best, ) = work.glob('best_*.pth')
    runner, _ = _resume(cfg, tmp_path / 'w', best)
    assert [type(h) for h in runner.hooks].count(ResumeCheckHook) == 1
    with pytest.raises(ResumeStateError) as info:
        runner.train()
    assert str(info.value).startswith(
        f'{best} cannot be resumed: it holds no optimizer state '
        "('optimizer') and no param scheduler state ('param_schedulers')")
    assert not list((tmp_path / 'w').glob('epoch_*.pth'))

    # build_runner (tools/train.py) recognises the config's hook: still one.
    config = Config.fromfile(cfg)
    config.work_dir = str(tmp_path / 'b')
    assert [type(h)
            for h in build_runner(config).hooks].count(ResumeCheckHook) == 1


def test_unchanged_settings_resume_without_a_warning(tmp_path, runs,
                                                     clean_loggers):
    for name in ('sgd', 'adamw'):
        cfg, work = runs[name]
        runner, warnings = _resume(cfg, tmp_path / name, work / 'epoch_1.pth')
        runner.train()
        assert runner.epoch == 2
        assert _resuming(warnings) == [], warnings
        # The schedules moved the lr (and AdamW's betas[0]) from the base
        # values, which the optimizer records as initial_lr.
        group = runner.optim_wrapper.optimizer.param_groups[0]
        assert group['lr'] != group['initial_lr']


def test_changed_optimizer_settings_warn_and_the_checkpoints_are_kept(
        tmp_path, runs, clean_loggers):
    cfg, work = runs['sgd']
    epoch_1 = work / 'epoch_1.pth'
    runner, warnings = _resume(
        cfg, tmp_path / 'w', epoch_1, **{
            'optim_wrapper.optimizer.lr': 0.1,
            'optim_wrapper.optimizer.weight_decay': 0.01,
            'optim_wrapper.optimizer.momentum': 0.8
        })
    runner.train()
    (warning, ) = _resuming(warnings)
    # Each setting, with both values; the head's lr is 10x the base lr.
    assert warning.startswith(
        f"Resuming from {epoch_1}: the config's optimizer settings differ "
        "from the checkpoint's (lr 0.1 in the config, 0.05 in the "
        'checkpoint (param groups 0, 1, 2, 3, 4, ... of 32); momentum 0.8 '
        'in the config, 0.9 in the checkpoint (all 32 param groups); '
        'weight_decay 0.01 in the config, 0.0 in the checkpoint (all 32 '
        'param groups); lr 1.0 in the config, 0.5 in the checkpoint (param '
        'groups 30, 31 of 32); base values, before any param_scheduler), '
        "and the checkpoint's are kept"), warning
    assert (f'--work-dir {tmp_path / "w"}_from_epoch_1 --cfg-options '
            f'load_from={epoch_1}, without --resume') in warning
    # Not reported a second time as a change of the schedule.
    assert 'param_scheduler differs' not in warning
    # As it says: the run went on with the checkpoint's settings.
    group = runner.optim_wrapper.optimizer.param_groups[0]
    assert (group['initial_lr'], group['momentum'],
            group['weight_decay']) == (0.05, 0.9, 0.)

    cfg, work = runs['adamw']
    runner, warnings = _resume(
        cfg, tmp_path / 'a', work / 'epoch_1.pth',
        **{'optim_wrapper.optimizer.betas': (0.8, 0.99)})
    runner.train()
    (warning, ) = _resuming(warnings)
    assert ('differ from the checkpoint\'s (betas (0.8, 0.99) in the '
            'config, (0.9, 0.99) in the checkpoint; base values') in warning


def test_a_hook_listed_twice_checks_once(tmp_path, runs, clean_loggers):
    cfg, work = runs['sgd']
    runner, warnings = _resume(
        cfg, tmp_path / 'w', work / 'epoch_1.pth', **{
            'optim_wrapper.optimizer.lr': 0.1,
            'custom_hooks': [dict(type='ResumeCheckHook')]
        })
    assert [type(h) for h in runner.hooks].count(ResumeCheckHook) == 2
    runner.train()
    assert len(_resuming(warnings)) == 1, warnings


def test_a_meta_that_is_not_a_dict_is_refused_by_name(tmp_path, runs,
                                                      clean_loggers):
    cfg, work = runs['sgd']
    checkpoint = safe_torch_load(str(work / 'epoch_1.pth'))
    checkpoint['meta'] = list(checkpoint['meta'].items())
    bad = tmp_path / 'bad.pth'
    torch.save(checkpoint, bad)
    runner, _ = _resume(cfg, tmp_path / 'w', bad)
    # Was MMEngine's TypeError on meta['epoch'], after the check passed.
    with pytest.raises(
            StateDictMismatchError,
            match=f"^{bad}: its 'meta' is a list, not a dict. "
            'Resume from a checkpoint that training saved'):
        runner.train()


def _without_training_state(run_dir, tmp_path):
    """Files of the SGD run's weights that training did not write: a
    converted backbone, a bare backbone state dict, a whole model's
    weights alone, and an official-style ``{'model': ...}`` file."""
    weights = safe_torch_load(str(run_dir / 'epoch_1.pth'))['state_dict']
    backbone = {k: v for k, v in weights.items() if k.startswith('backbone.')}
    files = dict(
        converted=dict(
            state_dict=backbone,
            meta=dict(converted_from='mae_pretrain.pth', source_type='mae')),
        bare={k[len('backbone.'):]: v
              for k, v in backbone.items()},
        model=dict(state_dict=weights),
        nested=dict(model=weights))
    for name, content in files.items():
        torch.save(content, str(tmp_path / f'{name}.pth'))
    counts = dict(
        backbone=len(backbone), model=len(weights), first=next(iter(weights)))
    return {name: tmp_path / f'{name}.pth' for name in files}, counts


def test_a_file_that_training_did_not_write_is_refused_for_what_it_is(
        tmp_path, runs, clean_loggers):
    """A backbone's pretrained weights (converted, or bare keys, which the
    CheckpointCheckHook would call another architecture) and a model's
    weights saved alone have no epoch: refused before the runner loads
    them, with --pretrained or load_from named. MMEngine read their
    weights into the model and then stopped with ``KeyError: 'meta'``;
    the hook said 'after epoch ?'."""
    cfg, work = runs['sgd']
    files, counts = _without_training_state(work, tmp_path)
    backbone = counts['backbone']
    expected = dict(
        converted="its 'meta' has no 'epoch' and no 'iter', the epoch and "
        'iteration a run reached and --resume continues from). It is a '
        f"backbone's pretrained weights (its {backbone} tensors are all "
        'under '
        "'backbone.', converted from mae_pretrain.pth by "
        'tools/model_converters). To train from it, give it as the '
        "backbone's pretrained weights: tools/train.py CONFIG --pretrained "
        f"{files['converted']}, without --resume.",
        bare="it has no 'meta', the epoch and iteration a run reached and "
        "--resume continues from). It is a backbone's pretrained weights "
        f"(its {backbone} tensors, e.g. 'cls_token', are under none of the "
        "model's parts: data_preprocessor, backbone, head). To train from "
        "it, give it as the backbone's pretrained weights: tools/train.py "
        f"CONFIG --pretrained {files['bare']}, without --resume.",
        model="it has no 'meta', the epoch and iteration a run reached and "
        '--resume continues from). It is the weights of a model '
        f"({counts['model']} tensors of its backbone, head). To train from "
        'them, load them: tools/train.py CONFIG --cfg-options '
        f"load_from={files['model']} (the whole model), or give it as the "
        "backbone's pretrained weights: tools/train.py CONFIG --pretrained "
        f"{files['model']} (its backbone alone), without --resume.",
        nested="it has no 'meta', the epoch and iteration a run reached and "
        "--resume continues from). It is a file of this model's weights "
        "nested under one key: its weights are nested under 'model' "
        f"({counts['model']} tensors, e.g. {counts['first']!r}), named in "
        "MMAction2's and MMPretrain's own layout "
        "('backbone.patch_embed.projection.weight'), not as official "
        'training code or timm name them (a checkpoint of an MMAction2, '
        "MMPretrain or mmadaptformer model, saved under 'model'), where "
        "MMEngine does not look (it reads 'state_dict' or the top level): "
        'its tensors already carry the '
        "model's own names, so take them out as they are, converting "
        'nothing: tools/model_converters/convert_official.py SRC DST --key '
        'model --unwrap-only, then train from DST: tools/train.py CONFIG '
        '--cfg-options load_from=DST (the whole model), without --resume.')
    for name, path in files.items():
        runner, _ = _resume(cfg, tmp_path / name, path)
        before = {k: v.clone() for k, v in runner.model.state_dict().items()}
        with pytest.raises(ResumeStateError) as info:
            runner.train()
        assert str(info.value) == (
            f'{path} cannot be resumed: it is not a checkpoint that '
            f'training saved ({expected[name]}'), name
        # Refused before the runner loaded any of it.
        assert all(
            torch.equal(v, before[k])
            for k, v in runner.model.state_dict().items()), name


# An iteration-based run (its epoch stays 0) that saves iter_2.pth and
# iter_4.pth without optimizer or scheduler state.
ITER_BASED = ("train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', "
              'max_iters=4, val_interval=100)\n'
              'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
              "param_scheduler = [dict(type='CosineAnnealingLR', T_max=4, "
              'by_epoch=False)]\n'
              'default_hooks = dict(checkpoint=dict(interval=2, '
              'by_epoch=False, save_optimizer=False, '
              'save_param_scheduler=False))\n')
ADAPTFORMER = (
    "model = dict(backbone=dict(_delete_=True, type='AdaptFormer', "
    "backbone=dict(type='VisionTransformer', arch=dict(embed_dims=64, "
    'num_layers=2, num_heads=2, feedforward_channels=128), img_size=32, '
    "patch_size=16, out_type='cls_token'), adapter=dict(bottleneck=8)))\n"
    "custom_hooks = [dict(type='AdapterHook')]\n")


def test_an_iteration_based_run_is_said_to_go_on_after_its_iteration(
        tmp_path, tiny_image_data, clean_loggers):
    """The refusals name where an IterBasedTrainLoop run would go on: the
    checkpoint's iteration. They said 'after epoch 0', the epoch such a
    run never leaves."""
    data = image_data_cfg(tiny_image_data)
    stock_cfg = write_config(tmp_path / 'stock.py', TINY_IMAGE_CONFIG,
                             data + ITER_BASED)
    cfg = Config.fromfile(stock_cfg)
    cfg.work_dir = str(tmp_path / 'stock')
    Runner.from_cfg(cfg).train()
    checkpoint = tmp_path / 'stock' / 'iter_2.pth'
    assert safe_torch_load(str(checkpoint))['meta']['epoch'] == 0

    runner, _ = _resume(stock_cfg, tmp_path / 'w', checkpoint)
    with pytest.raises(ResumeStateError) as info:
        runner.train()
    assert '(only meta, state_dict, message_hub), so training would go on ' \
        'after iteration 2 with a new optimizer state' in str(info.value)

    adapter_cfg = write_config(tmp_path / 'adapter.py', TINY_IMAGE_CONFIG,
                               data + ITER_BASED + ADAPTFORMER)
    runner, _ = _resume(adapter_cfg, tmp_path / 'a', checkpoint)
    with pytest.raises(ResumeStateError) as info:
        runner.train()
    assert 'adapters would train from their initialisation while the run ' \
        "went on after iteration 2 with the checkpoint's optimizer" in str(
            info.value)
