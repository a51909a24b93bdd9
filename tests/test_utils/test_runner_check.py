# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What MMEngine's Runner reads itself is checked before it is built:
``env_cfg`` keys MMEngine would ignore (or refuse late), hooks it cannot
build, log levels logging does not know; every shipped config passes."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from several_optim_wrappers import SeveralOptimWrapperConstructor

from mmadaptformer.utils import ConfigError, runner_check
from mmadaptformer.utils.runner_check import (AUTO_SCALE_LR_KEYS, ENV_CFG_KEYS,
                                              check_auto_scale_lr,
                                              check_env_cfg, check_hooks,
                                              check_log_level,
                                              check_runner_config)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _config(**env_cfg):
    return Config(dict(env_cfg=env_cfg))


def test_the_keys_are_the_ones_the_runner_reads():
    """What ``Runner.setup_env`` passes to ``set_multi_processing`` and
    ``init_dist``: a wrong list would refuse MMEngine's own example."""
    assert ENV_CFG_KEYS == ('cudnn_benchmark', 'mp_cfg', 'dist_cfg',
                            'resource_limit')
    check_env_cfg(
        _config(
            cudnn_benchmark=True,
            mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
            dist_cfg=dict(backend='nccl', timeout=1800, port=29500),
            resource_limit=4096), 'c.py')


@pytest.mark.parametrize('env_cfg, line', [
    (dict(cudnn_benchmrk=True),
     "c.py: env_cfg.cudnn_benchmrk: 'cudnn_benchmrk' is no env_cfg key (did "
     "you mean 'cudnn_benchmark'?); MMEngine's Runner would ignore it "
     'without a word. It takes: cudnn_benchmark, mp_cfg, dist_cfg, '
     'resource_limit.'),
    (dict(mp_cfg=dict(opencv_num_thread=0)),
     "c.py: env_cfg.mp_cfg.opencv_num_thread: 'opencv_num_thread' is no "
     "env_cfg.mp_cfg key (did you mean 'opencv_num_threads'?); MMEngine's "
     'set_multi_processing would refuse it. It takes: mp_start_method, '
     'opencv_num_threads.'),
    (dict(dist_cfg=dict(backend='nccl', timout=60)),
     "c.py: env_cfg.dist_cfg.timout: 'timout' is no env_cfg.dist_cfg key "
     "(did you mean 'timeout'?); PyTorch's init_process_group would refuse "
     'it once a distributed run starts. It takes: backend, init_backend, '
     'port, init_method, timeout, '),
    (dict(mp_cfg=dict(mp_start_method='forkk')),
     "c.py: env_cfg.mp_cfg.mp_start_method: 'forkk' is no multiprocessing "
     "start method here (did you mean 'fork'?). This platform has: "),
    (dict(mp_cfg='fork'),
     "c.py: env_cfg.mp_cfg: env_cfg.mp_cfg must be a dict, but got 'fork'."),
])
def test_a_mistake_is_named_with_the_closest_keys(env_cfg, line):
    with pytest.raises(ConfigError) as error:
        check_env_cfg(_config(**env_cfg), 'c.py')
    assert str(error.value).startswith(line)


def test_an_option_that_set_the_key_is_named():
    with pytest.raises(ConfigError) as error:
        check_env_cfg(
            _config(resource_limt=8192), 'c.py', {
                'model.x': 1,
                'env_cfg.resource_limt': 8192
            })
    assert str(error.value).startswith(
        "--cfg-options env_cfg.resource_limt=8192: 'resource_limt' is no "
        "env_cfg key (did you mean 'resource_limit'?)")


def test_another_runner_or_no_env_cfg_is_not_checked():
    cfg = _config(my_setting=1)
    cfg.runner_type = 'mmpretrain.MyRunner'
    check_env_cfg(cfg, 'c.py')
    check_env_cfg(Config(dict(model=dict())), 'c.py')
    cfg.runner_type = 'FlexibleRunner'
    with pytest.raises(ConfigError, match="'my_setting' is no env_cfg key"):
        check_env_cfg(cfg, 'c.py')
    with pytest.raises(ConfigError, match='env_cfg must be a dict'):
        check_env_cfg(Config(dict(env_cfg=[1])), 'c.py')


def test_every_shipped_config_passes():
    configs = [
        path for path in glob.glob(
            osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in path
    ]
    assert len(configs) > 20
    for path in configs:
        cfg = Config.fromfile(path)
        check_runner_config(cfg, path)
        runner_check.check_optim_wrapper(cfg, path)


@pytest.mark.parametrize('hooks, line', [
    (dict(default_hooks=dict(chekpoint=dict(interval=2))),
     "c.py: default_hooks.chekpoint is a dict without a type ({'interval': "
     "2}) (did you mean 'checkpoint'?); the Runner merges default hooks by "
     'name, and builds each from a dict with a type (or removes it for '
     'None). Default hooks here: runtime_info, timer, sampler_seed, logger, '
     'param_scheduler, checkpoint, ema.'),
    (dict(default_hooks=[dict(type='CheckpointHook')]),
     'c.py: default_hooks must be a dict of hooks by name'),
    (dict(custom_hooks=[dict(
        type='EMAHook'), dict(momentum=0.1)]),
     "c.py: custom_hooks[1] is a dict without a type ({'momentum': 0.1}); "
     'the Runner builds each custom hook from a dict with a type'),
    (dict(custom_hooks=dict(type='EMAHook')),
     'c.py: custom_hooks must be a list of hooks'),
    (dict(custom_hooks=['EMAHook']),
     "c.py: custom_hooks[0] is no hook but 'EMAHook'; "),
])
def test_a_hook_the_runner_cannot_build_is_named(hooks, line):
    cfg = Config(hooks)
    if isinstance(cfg.get('default_hooks'), dict):
        cfg.default_hooks.ema = dict(type='EMAHook')
    with pytest.raises(ConfigError) as error:
        check_hooks(cfg, 'c.py')
    assert str(error.value).startswith(line)


def test_hooks_the_runner_builds_pass():
    """A dict with a type, None (the Runner drops that default hook) and a
    built hook."""
    from mmengine.hooks import EMAHook
    check_hooks(
        Config(
            dict(
                default_hooks=dict(
                    timer=None,
                    checkpoint=dict(type='CheckpointHook', interval=2)),
                custom_hooks=[EMAHook(), dict(type='EMAHook')])), 'c.py')
    check_hooks(Config(dict()), 'c.py')


def test_an_option_beneath_the_hook_is_named():
    cfg = Config(dict(default_hooks=dict(chekpoint=dict(interval=2))))
    with pytest.raises(ConfigError) as error:
        check_hooks(cfg, 'c.py', {'default_hooks.chekpoint.interval': 2})
    assert str(error.value).startswith(
        '--cfg-options default_hooks.chekpoint.interval=2: '
        'default_hooks.chekpoint is a dict without a type')


@pytest.mark.parametrize('level, line', [
    ('info', "c.py: log_level='info' is no logging level (did you "
     "mean 'INFO'?); give one of DEBUG, INFO, WARNING, ERROR, CRITICAL (in "
     'capitals) or an int such as 20.'),
    (float('inf'), 'c.py: log_level=inf is no logging level but '
     'a float; '),
])
def test_a_log_level_logging_does_not_know_is_named(level, line):
    with pytest.raises(ConfigError) as error:
        check_log_level(Config(dict(log_level=level)), 'c.py')
    assert str(error.value).startswith(line)
    for good in ('INFO', 'WARNING', 10, None):
        check_log_level(Config(dict(log_level=good)), 'c.py')


def test_auto_scale_lr_keys_are_the_ones_the_runner_reads():
    """``Runner.scale_lr`` reads ``enable`` with ``.get`` (a misspelled
    one leaves the learning rate unscaled without a word) and asserts
    ``base_batch_size`` once training starts; both are named first."""
    import inspect
    import re

    from mmengine.runner import Runner
    read = re.findall(r"auto_scale_lr(?:\.get\(|\[)'(\w+)'",
                      inspect.getsource(Runner.scale_lr))
    assert set(read) == set(AUTO_SCALE_LR_KEYS)
    check_auto_scale_lr(
        Config(dict(auto_scale_lr=dict(enable=True, base_batch_size=64))),
        'c.py')
    check_auto_scale_lr(Config(dict(auto_scale_lr=dict(enable=False))), 'c.py')
    with pytest.raises(ConfigError) as error:
        check_auto_scale_lr(
            Config(dict(auto_scale_lr=dict(enabel=True, base_batch_size=64))),
            'c.py', {'auto_scale_lr.enabel': True})
    assert str(error.value) == (
        "--cfg-options auto_scale_lr.enabel=True: 'enabel' is no "
        "auto_scale_lr key (did you mean 'enable'?); MMEngine's Runner would "
        'ignore it without a word. It takes: enable, base_batch_size.')
    with pytest.raises(ConfigError) as error:
        check_auto_scale_lr(
            Config(dict(auto_scale_lr=dict(enable=True))), 'c.py')
    assert str(error.value) == (
        'c.py: auto_scale_lr.enable: auto_scale_lr is enabled without '
        'base_batch_size, the total batch its learning rate is for; '
        "MMEngine's Runner would stop on it once training starts.")


@pytest.mark.parametrize('cfg, line', [
    (dict(optim_wrapper=[dict(type='OptimWrapper')]),
     "c.py: optim_wrapper=[{'type': 'OptimWrapper'}] is not a dict;"),
    (dict(optim_wrapper='Adam'),
     "c.py: optim_wrapper='Adam' is not a dict; MMEngine's Runner builds the "
     'optimizer wrapper it trains with from a dict with a type, e.g. '
     "optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', "
     'lr=1e-3)).'),
    (dict(optim_wrapper='OptimWrapper'),
     "c.py: optim_wrapper='OptimWrapper' is not a dict; MMEngine's Runner "
     'builds the optimizer wrapper it trains with from a dict with a type, '
     "e.g. optim_wrapper = dict(type='OptimWrapper', optimizer=dict("
     "type='AdamW', lr=1e-3))."),
    (dict(), 'c.py: optim_wrapper is missing; '),
])
def test_a_training_optim_wrapper_that_is_no_dict_is_named(cfg, line):
    """Only a name the optimizer registry holds is shown as the optimizer's
    type; a config without ``optim_wrapper`` is named too (the Runner
    refused it after making the work dir)."""
    with pytest.raises(ConfigError) as error:
        runner_check.check_optim_wrapper(Config(cfg), 'c.py')
    assert str(error.value).startswith(line)


def test_optim_wrapper_dicts_and_other_runners_pass():
    """Guard of kept behaviour: a wrapper dict, a dict of wrappers (several
    optimizers) whose constructor builds them, which MMEngine's default
    constructor's rules do not judge (given as the class, as a config
    may, so that nothing is registered for the other tests; an unknown
    name is refused, see tests/test_tools/test_train_optim_constructors.py),
    and another runner's config are not refused."""
    runner_check.check_optim_wrapper(
        Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)))),
        'c.py')
    runner_check.check_optim_wrapper(
        Config(
            dict(
                optim_wrapper=dict(
                    generator=dict(optimizer=dict(type='Adam', lr=1e-4)),
                    discriminator=dict(optimizer=dict(type='Adam', lr=1e-4)),
                    constructor=SeveralOptimWrapperConstructor))), 'c.py')
    runner_check.check_optim_wrapper(
        Config(dict(runner_type='mmpretrain.MyRunner', optim_wrapper='SGD')),
        'c.py')
