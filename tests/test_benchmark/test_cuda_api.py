# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmadaptformer.benchmark.cuda_api: the torch names of the GPU-only
branches of the benchmark and the GPU check, checked on the CPU."""
import importlib
import inspect
import json
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


@pytest.mark.parametrize('name', sorted(api.CUDA_APIS))
def test_every_gpu_only_name_resolves_without_deprecation(name):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        obj = api.cuda_api(name)
    assert not api.deprecation(obj), f'{api.CUDA_APIS[name]}: ' \
        f'{api.deprecation(obj)}'


def test_the_gpu_checks_preflight_finds_nothing_missing():
    result = api.check_cuda_apis()
    assert result['torch'] == torch.__version__
    assert result['missing'] == {} and result['deprecated'] == {}


def test_the_check_catches_what_torch_deprecated():
    """What the table is checked against: names the pinned torch still
    has but deprecates, and one it lacks."""
    assert api.deprecation(torch.cuda.amp.GradScaler)
    assert api.deprecation(torch.backends.cuda.sdp_kernel)
    api.CUDA_APIS.update(
        _missing='torch.cuda.no_such_call',
        _old_scaler='torch.cuda.amp.GradScaler',
        _old_sdp='torch.backends.cuda.sdp_kernel')
    try:
        with pytest.raises(AttributeError, match='torch.cuda.no_such_call'):
            api.cuda_api('_missing')
        result = api.check_cuda_apis()
        assert list(result['missing']) == ['_missing']
        assert sorted(result['deprecated']) == ['_old_scaler', '_old_sdp']
        assert 'torch.amp.GradScaler' in result['deprecated']['_old_scaler']
    finally:
        for name in ('_missing', '_old_scaler', '_old_sdp'):
            del api.CUDA_APIS[name]


@pytest.mark.parametrize('device', sorted(api.PROFILE_SELF_TIME))
def test_profile_self_time_is_a_current_attribute(device):
    attr = api.PROFILE_SELF_TIME[device]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert isinstance(getattr(FunctionEventAvg(), attr), (int, float))
    prop = inspect.getattr_static(FunctionEvent, attr)
    assert not api.deprecation(getattr(prop, 'fget', prop))


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


def test_gpu_check_stops_at_once_on_a_torch_without_its_names(
        tmp_path, monkeypatch):
    """A machine keeps its own torch; one without a name of the table
    failed only when a check got to it, minutes in."""
    from mmadaptformer.benchmark.gpu_check import (format_gpu_summary,
                                                   run_gpu_check)
    monkeypatch.setitem(api.CUDA_APIS, 'synchronize',
                        'torch.cuda.no_such_call')
    monkeypatch.setitem(api.CUDA_APIS, 'grad_scaler',
                        'torch.cuda.amp.GradScaler')
    monkeypatch.setitem(api.PROFILE_SELF_TIME, 'cuda',
                        'self_cuda_time_total_gone')
    out = tmp_path / 'out'
    with pytest.raises(RuntimeError, match='torch.cuda.no_such_call'):
        run_gpu_check(['--out-dir', str(out), '--device', 'cpu'])
    result = json.loads((out / 'gpu_check.json').read_text())
    assert result['status'] == 'error' and result['checks'] == {}
    assert list(result['torch_apis']['missing']) == [
        'synchronize', 'profile_self_time_cuda'
    ]
    assert list(result['torch_apis']['deprecated']) == ['grad_scaler']
    summary = format_gpu_summary(result)
    assert 'no_such_call' in summary
    assert 'deprecates names the GPU checks use' in summary
    assert not (out / 'workspace').exists()
