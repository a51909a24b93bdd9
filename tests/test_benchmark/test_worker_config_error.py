# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The training benchmark's models are built in its worker processes only;
a config mistake a worker meets comes back to the tool as a ConfigError.

benchmark_train.py built every mode's model and the optimizer once in its
own process before starting the workers (1-4 s per ViT-B mode), only so
that a config mistake would end the tool with one line: the models were
built twice. ``run_worker`` passed a worker's failure on as a
``RuntimeError`` holding the worker's traceback.
"""
import pytest
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_modules import load_tool

from mmadaptformer.benchmark import run_worker, runner
from mmadaptformer.utils import ConfigError

#: As short a run as a worker takes.
SHORT = ['--batch-size', '2', '--iters', '1', '--warmup', '0']


def test_run_worker_raises_the_workers_config_error():
    """The optimizer is built in the worker alone: its misspelled argument
    is the worker's ConfigError, naming the option, in the starting
    process."""
    with pytest.raises(ConfigError) as refused:
        run_worker([
            TINY_ADAPTFORMER_VIDEO_CONFIG, *SHORT, '--cfg-options',
            'optim_wrapper.optimizer.lrr=0.1'
        ], 'linear_probe', 'none')
    assert str(refused.value) == (
        '--cfg-options optim_wrapper.optimizer.lrr=0.1: SGD takes no '
        "argument 'lrr' (did you mean 'lr'?).")


def test_a_mistake_in_the_file_comes_back_naming_the_file(tmp_path):
    config = tmp_path / 'typo.py'
    config.write_text(f'_base_ = [{TINY_ADAPTFORMER_VIDEO_CONFIG!r}]\n'
                      'model = dict(cls_head=dict(num_clases=2))\n')
    with pytest.raises(ConfigError) as refused:
        run_worker([str(config), *SHORT], 'full_ft', 'none')
    assert str(refused.value) == (
        f'{config}: model.cls_head.num_clases: BNLinearHead (through '
        "BaseHead.__init__) takes no argument 'num_clases' (did you mean "
        "'num_classes' or 'multi_class'?).")


def test_the_tool_builds_no_model_before_the_workers(monkeypatch,
                                                     clean_loggers):
    """When the first worker would start, the tool's own process has built
    no recognizer (it built one per mode)."""
    from mmaction.models import BaseRecognizer
    built = []
    init = BaseRecognizer.__init__

    def counting_init(self, *args, **kwargs):
        built.append(type(self).__name__)
        init(self, *args, **kwargs)

    class FirstWorker(Exception):
        pass

    def first_worker(argv, mode, amp):
        raise FirstWorker(list(built))

    monkeypatch.setattr(BaseRecognizer, '__init__', counting_init)
    monkeypatch.setattr(runner, 'run_worker', first_worker)
    tool = load_tool('analysis_tools/benchmark_train.py')
    with pytest.raises(FirstWorker) as started:
        tool.main([TINY_ADAPTFORMER_VIDEO_CONFIG, *SHORT, '--repeat', '1'])
    assert started.value.args[0] == []
