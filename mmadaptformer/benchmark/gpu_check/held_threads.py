# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Two threads in one model, in a fixed order, for the GPU check's
inference checks: the first is held inside its forward while the second
runs, so their forwards overlap on every machine, not only when the
scheduler happens to interleave them."""
import threading
from typing import Any, Callable, Dict, Optional

from torch import nn

from ...models import VPT
from ...models.adapters import AdaptMLP
from ...models.multitask import MultiTaskAdaptMLP

__all__ = ['WAIT_S', 'hold_point', 'run_held']

#: How long a thread waits for the other: the second for the first to be
#: held, the first held for the second's whole forward (no lock between).
WAIT_S = 60


def hold_point(model: nn.Module) -> nn.Module:
    """The module inside whose forward hook the first thread is held: where
    a forward has state that another thread's forward must not touch.

    For AdaptFormer (one task or many) it is the first block's adapter
    (``AdaptMLP`` or ``MultiTaskAdaptMLP``): the block's
    ``AdapterRouter`` holds its forward state until the block ends, and a
    ``MultiTaskRecognizer`` the layout of its batch until the forward
    ends. For VPT-shallow it is the first prompted block: its prompt outputs
    are carried to the next block.

    Args:
        model (nn.Module): The model.

    Returns:
        nn.Module: The module.

    Raises:
        ValueError: If the model has no adapter and no VPT.
    """
    for module in model.modules():
        if isinstance(module, (MultiTaskAdaptMLP, AdaptMLP)):
            return module
        if isinstance(module, VPT):
            return module.backbone.get_submodule(module.prompted_blocks[0])
    raise ValueError(f'{type(model).__name__} has no AdaptMLP, '
                     'MultiTaskAdaptMLP or VPT to hold a thread in.')


def run_held(module: nn.Module, first: Callable[[], Any],
             second: Callable[[], Any], hold_s: float) -> Dict[str, Any]:
    """Run ``first()`` in one thread and ``second()`` in another that starts
    once the first is inside ``module``'s forward hook, where the first
    waits until ``second()`` has returned (or raised), at most ``hold_s``
    seconds (a call that takes a lock the first holds cannot return before).

    Args:
        module (nn.Module): Where the first thread waits (only its first
            call of the module).
        first (Callable): The first thread's call.
        second (Callable): The second thread's call.
        hold_s (float): The longest wait.

    Returns:
        dict: ``first`` and ``second`` (results, None for a call that
        raised), ``errors`` (``{name: 'Type: message'}``, an exception of
        either call, not raised here), ``held`` (whether the first thread
        was held) and ``overlapped`` (whether the second call returned
        while the first was held, i.e. the two forwards overlapped).
    """
    inside, second_done = threading.Event(), threading.Event()
    state: Dict[str, Any] = dict(held=False, overlapped=False)

    def hold(module, args, output) -> None:
        if not state['held']:  # only the first thread, only its first call
            state['held'] = True
            inside.set()
            state['overlapped'] = second_done.wait(hold_s)

    results: Dict[str, Any] = dict(first=None, second=None)
    errors: Dict[str, str] = {}

    def run(name: str, call: Callable[[], Any],
            before: Optional[threading.Event]) -> None:
        try:
            if before is not None and not before.wait(WAIT_S):
                raise RuntimeError(f'the first thread was not inside '
                                   f'{type(module).__name__} after {WAIT_S} '
                                   's')
            results[name] = call()
        except Exception as e:  # recorded in the verdict by the caller
            errors[name] = f'{type(e).__name__}: {e}'
        finally:
            if name == 'second':
                second_done.set()
            else:
                inside.set()  # a first call that never got held

    handle = module.register_forward_hook(hold)
    threads = [
        threading.Thread(target=run, args=('first', first, None)),
        threading.Thread(target=run, args=('second', second, inside)),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        handle.remove()
    return dict(results, errors=errors, **state)
