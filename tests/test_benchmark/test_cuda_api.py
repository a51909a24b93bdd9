# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmadaptformer.benchmark.cuda_api: the torch names of the GPU-only
branches of the benchmark and the GPU check, checked on the CPU."""
import importlib
import inspect
import os
import os.path as osp
import re
import tokenize
import warnings

import pytest
import torch
from torch.autograd.profiler_util import FunctionEvent, FunctionEventAvg

from mmadaptformer import benchmark
from mmadaptformer.benchmark import cuda_api as api

# The module, not the function of that name the package exports.
utilisation = importlib.import_module('mmadaptformer.benchmark.utilisation')

PACKAGE = osp.dirname(benchmark.__file__)


def _deprecation(obj) -> str:
    """The ``typing_extensions.deprecated`` message on ``obj`` (or on its
    constructor), e.g. ``torch.cuda.amp.GradScaler``'s, else ''."""
    for target in (obj, getattr(obj, '__init__', None)):
        message = getattr(target, '__deprecated__', None)
        if message:
            return message
    return ''


@pytest.mark.parametrize('name', sorted(api.CUDA_APIS))
def test_every_gpu_only_name_resolves_without_deprecation(name):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        obj = api.cuda_api(name)
    assert not _deprecation(obj), f'{api.CUDA_APIS[name]}: ' \
        f'{_deprecation(obj)}'


def test_the_check_catches_what_torch_deprecated():
    """What the table is checked against: names the pinned torch still
    has but deprecates, and one it lacks."""
    assert _deprecation(torch.cuda.amp.GradScaler)
    assert _deprecation(torch.backends.cuda.sdp_kernel)
    api.CUDA_APIS['_missing'] = 'torch.cuda.no_such_call'
    try:
        with pytest.raises(AttributeError, match='torch.cuda.no_such_call'):
            api.cuda_api('_missing')
    finally:
        del api.CUDA_APIS['_missing']


@pytest.mark.parametrize('device', sorted(api.PROFILE_SELF_TIME))
def test_profile_self_time_is_a_current_attribute(device):
    attr = api.PROFILE_SELF_TIME[device]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert isinstance(getattr(FunctionEventAvg(), attr), (int, float))
    prop = inspect.getattr_static(FunctionEvent, attr)
    assert not _deprecation(getattr(prop, 'fget', prop))


def _code_lines(path):
    """``(line number, code, strings)`` of a Python file: its code without
    comments and strings, and its one-line string literals (attribute
    names given as strings, such as a profile's ``sort_by``)."""
    code, strings = {}, {}
    with open(path) as f:
        for tok in tokenize.generate_tokens(f.readline):
            if tok.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER):
                code.setdefault(tok.start[0], []).append(tok.string)
            elif tok.type == tokenize.STRING and '\n' not in tok.string:
                strings.setdefault(tok.start[0], []).append(tok.string)
    return [(n, ''.join(code.get(n, [])), ' '.join(strings.get(n, [])))
            for n in sorted(set(code) | set(strings))]


#: Spellings of a GPU-only torch name in code; ``torch.cuda.is_available``
#: is the device query every machine answers, and stays.
GPU_ONLY = re.compile(r'torch\.cuda\.(?!is_available\b)\w|torch\.backends\.'
                      r'cud|ProfilerActivity\.CUDA|DeviceType\.CUDA|'
                      r'_cuda_time|sdp_kernel\b')
#: Deprecated GPU-only attribute names given as strings.
GPU_ONLY_STRINGS = re.compile(r'_cuda_time|sdp_kernel\b')


def test_gpu_only_code_reads_its_names_from_the_table():
    """Before, the branches called ``torch.cuda.*`` and sorted a profile
    by the deprecated ``self_cuda_time_total`` each in its own file; a CPU
    test had no way to see them all."""
    found = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            path = osp.join(folder, name)
            if not name.endswith('.py') or path == api.__file__:
                continue
            for number, code, strings in _code_lines(path):
                if GPU_ONLY.search(code) or GPU_ONLY_STRINGS.search(strings):
                    found.append(f'{osp.relpath(path, PACKAGE)}:{number}: '
                                 f'{code} {strings}')
    assert not found, '\n'.join(found)


def test_device_decisions_are_pure():
    assert api.is_cuda('cuda') and api.is_cuda('cuda:1')
    assert api.is_cuda(torch.device('cuda', 0))
    assert not api.is_cuda('cpu')
    assert api.timer_sync('cuda') is torch.cuda.synchronize
    assert api.timer_sync('cpu')() is None
    assert api.device_name('cpu') is None
    assert set(api.tf32_flags()) == {'cudnn', 'matmul'}
    assert set(api.sdp_flags()) == {'flash', 'mem_efficient', 'math'}


def test_timer_waits_for_the_device_before_and_after_each_call(monkeypatch):
    """On a GPU a step's kernels run after its launch returns: the timer
    synchronised after each call but not before, so the first timed call
    also counted the work queued before it (``--warmup 0``)."""
    events = []
    monkeypatch.setattr(utilisation, 'timer_sync',
                        lambda device: lambda: events.append(f'sync {device}'))
    wall, cpu = utilisation.timed(lambda: events.append('call'), 2, 'cuda')
    assert len(wall) == len(cpu) == 2
    assert events == ['sync cuda', 'call', 'sync cuda'] * 2
