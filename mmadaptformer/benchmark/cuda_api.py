# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every torch name that the benchmark and the GPU check use only on a
GPU, in one table, and the calls they make through it.

Those branches never run on a machine without CUDA, so a name that the
installed torch lacks, or deprecates, would only show on the GPU. The
table lets a CPU test resolve every name, with warnings as errors
(``tests/test_benchmark/test_cuda_api.py``), and the code reads its names
from it, so the test checks what runs.
"""
import importlib
import warnings
from functools import lru_cache
from typing import Any, Callable, Tuple

import torch

__all__ = [
    'CUDA_APIS', 'PROFILE_SELF_TIME', 'cuda_api', 'deprecation',
    'check_cuda_apis', 'is_cuda', 'synchronize', 'timer_sync', 'device_name',
    'tf32_flags', 'sdp_flags'
]

#: Short name: dotted path of a torch object used on a GPU only. Read
#: through :func:`cuda_api` (a value such as ``allow_tf32`` is read when
#: asked, not when imported).
CUDA_APIS = dict(
    synchronize='torch.cuda.synchronize',
    reset_peak_memory_stats='torch.cuda.reset_peak_memory_stats',
    memory_allocated='torch.cuda.memory_allocated',
    max_memory_allocated='torch.cuda.max_memory_allocated',
    empty_cache='torch.cuda.empty_cache',
    get_device_name='torch.cuda.get_device_name',
    cuda_version='torch.version.cuda',
    cudnn_allow_tf32='torch.backends.cudnn.allow_tf32',
    matmul_allow_tf32='torch.backends.cuda.matmul.allow_tf32',
    flash_sdp_enabled='torch.backends.cuda.flash_sdp_enabled',
    mem_efficient_sdp_enabled='torch.backends.cuda.mem_efficient_sdp_enabled',
    math_sdp_enabled='torch.backends.cuda.math_sdp_enabled',
    grad_scaler='torch.amp.GradScaler',
    autocast='torch.autocast',
    profiler_activity_cuda='torch.profiler.ProfilerActivity.CUDA',
    kernel_device_type='torch.autograd.DeviceType.CUDA',
)

#: The attribute of a profiler row (``FunctionEventAvg``) that holds its
#: self time, by device; also the ``sort_by`` of its table. (``self_cuda_
#: time_total`` is deprecated for ``self_device_time_total``.)
PROFILE_SELF_TIME = dict(
    cuda='self_device_time_total', cpu='self_cpu_time_total')


@lru_cache(maxsize=None)
def _split(path: str) -> Tuple[str, Tuple[str, ...]]:
    """The longest importable module of ``path`` and the attributes after
    it."""
    parts = path.split('.')
    for i in range(len(parts), 0, -1):
        try:
            importlib.import_module('.'.join(parts[:i]))
        except ImportError:
            continue
        return '.'.join(parts[:i]), tuple(parts[i:])
    raise ImportError(f'{path}: no module of it can be imported')


def cuda_api(name: str) -> Any:
    """The object (or current value) of :data:`CUDA_APIS` ``name``.

    Args:
        name (str): A key of :data:`CUDA_APIS`.

    Returns:
        Any: What its path names in the installed torch.

    Raises:
        AttributeError: If the installed torch lacks it, naming the path.
    """
    path = CUDA_APIS[name]
    module, attrs = _split(path)
    obj = importlib.import_module(module)
    for attr in attrs:
        try:
            obj = getattr(obj, attr)
        except AttributeError as e:
            raise AttributeError(
                f'{path} ({name}) is not in torch {torch.__version__}: '
                f'{e}') from e
    return obj


def deprecation(obj: Any) -> str:
    """The deprecation message torch put on ``obj`` (or on its
    constructor, e.g. ``torch.cuda.amp.GradScaler``'s) with
    ``typing_extensions.deprecated``, else ''."""
    for target in (obj, getattr(obj, '__init__', None)):
        message = getattr(target, '__deprecated__', None)
        if message:
            return str(message)
    return ''


def check_cuda_apis() -> dict:
    """Resolve every name of :data:`CUDA_APIS` in the installed torch.

    The GPU check runs it first: a machine keeps its own torch
    (``requirements/offline.txt``), which may lack a name the pinned one
    has; that should cost a second, not the checks before the first use.

    Returns:
        dict: ``torch`` (its version), ``missing`` and ``deprecated``
        (name: message, the warning's or the deprecation's); the profile
        rows' :data:`PROFILE_SELF_TIME` attributes are checked too.
    """
    missing, deprecated = {}, {}
    for name, path in CUDA_APIS.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            try:
                obj = cuda_api(name)
            except (AttributeError, ImportError) as e:
                missing[name] = str(e)
                continue
        message = '; '.join(str(w.message) for w in caught) or \
            deprecation(obj)
        if message:
            deprecated[name] = f'{path}: {message}'
    from torch.autograd.profiler_util import FunctionEventAvg
    for device, attr in PROFILE_SELF_TIME.items():
        if not hasattr(FunctionEventAvg(), attr):
            missing[f'profile_self_time_{device}'] = (
                f'torch.autograd.profiler_util.FunctionEventAvg has no '
                f'{attr}')
    return dict(
        torch=torch.__version__, missing=missing, deprecated=deprecated)


def is_cuda(device: Any) -> bool:
    """Whether ``device`` (``'cuda'``, ``'cuda:1'``, a ``torch.device``)
    is a CUDA device; a pure function of its argument."""
    return torch.device(device).type == 'cuda'


def synchronize(device: Any) -> None:
    """Wait for the device's queued work (a no-op off CUDA)."""
    if is_cuda(device):
        cuda_api('synchronize')()


def timer_sync(device: Any) -> Callable[[], None]:
    """What a timer calls before it reads the clock, at both ends of a
    timed call: ``torch.cuda.synchronize`` on CUDA (kernels run after
    their launch returns), else nothing."""
    return cuda_api('synchronize') if is_cuda(device) else (lambda: None)


def device_name(device: Any) -> Any:
    """``torch.cuda.get_device_name()`` on CUDA, else None."""
    return cuda_api('get_device_name')() if is_cuda(device) else None


def tf32_flags() -> dict:
    """Whether TF32 runs in cuDNN convolutions and in float32 matmuls."""
    return dict(
        cudnn=cuda_api('cudnn_allow_tf32'),
        matmul=cuda_api('matmul_allow_tf32'))


def sdp_flags() -> dict:
    """Which fused attention kernels ``scaled_dot_product_attention`` may
    pick on CUDA."""
    return dict(
        flash=cuda_api('flash_sdp_enabled')(),
        mem_efficient=cuda_api('mem_efficient_sdp_enabled')(),
        math=cuda_api('math_sdp_enabled')())
