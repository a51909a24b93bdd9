# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Two threads in one model, in a fixed order, or at once: test fixtures."""
import contextlib
import gc
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple

from torch import nn

#: How long a thread waits for the other before the test fails.
WAIT_S = 60


def held_then_second(module: nn.Module, first: Callable[[], Any],
                     second: Callable[[], Any]) -> Tuple[Any, Any]:
    """Run ``first()`` in one thread and ``second()`` in another while the
    first waits in ``module``'s forward hook; return both results.

    Only the first thread's first call of ``module`` waits, inside a hook
    registered after the module's others, until ``second()`` has returned
    (or raised). An exception of either thread is raised here.
    """
    inside, second_done = threading.Event(), threading.Event()
    held = []

    def hold(module, args, output):
        if not held:  # only the first thread, only its first call
            held.append(threading.get_ident())
            inside.set()
            assert second_done.wait(WAIT_S), 'second thread never finished'

    results, errors = {}, []

    def run(name, fn, before=None):
        try:
            if before is not None:
                assert before.wait(WAIT_S), 'first thread never got inside'
            results[name] = fn()
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)
        finally:
            if name == 'second':
                second_done.set()

    handle = module.register_forward_hook(hold)
    threads = [
        threading.Thread(target=run, args=('first', first)),
        threading.Thread(target=run, args=('second', second, inside)),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(2 * WAIT_S)
    finally:
        handle.remove()
    if errors:
        raise errors[0]
    assert held, f'the first thread was never held in {type(module)}'
    return results['first'], results['second']


def in_two_threads(
        call: Callable[[int], Any],
        times: int,
        other: Optional[Callable[[int], Any]] = None) -> List[Exception]:
    """Run ``call(index)`` for ``index`` in ``range(times)`` in each of two
    threads started together (``other(index)`` in the second, if given);
    what the calls raised, in order."""
    start, errors = threading.Barrier(2), []

    def run(call):
        start.wait()
        for index in range(times):
            try:
                call(index)
            except Exception as e:  # noqa: B902 -- returned to the test
                errors.append(e)

    threads = [
        threading.Thread(target=run, args=(fn, ), daemon=True)
        for fn in (call, other or call)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5 * WAIT_S)
    assert not any(t.is_alive() for t in threads), 'a thread never finished'
    return errors


@contextlib.contextmanager
def switching_threads_in_gc() -> Iterator[None]:
    """Within this, every garbage collection starts by handing the GIL to
    another thread, and collections come every 50 allocations.

    A collection runs in the middle of C code that allocates (``ast.parse``
    building its tree), and runs Python code there (finalisers, callbacks)
    that may hand the GIL over: what a real program's garbage does now and
    then, every time, so a race in such C code shows in a few calls.
    """

    def switch(phase, info):
        if phase == 'start':
            time.sleep(0)  # releases the GIL: another thread runs

    threshold = gc.get_threshold()
    gc.callbacks.append(switch)
    gc.set_threshold(50)
    try:
        yield
    finally:
        gc.callbacks.remove(switch)
        gc.set_threshold(*threshold)
