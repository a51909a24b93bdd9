# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One GPU check in this process, as the runner starts it:
``python -m mmadaptformer.benchmark.gpu_check.worker NAME CONTEXT OUT``."""
import json
import signal
import sys
import time
import traceback

from mmadaptformer.benchmark.gpu_check import CHECKS, SkipCheck
from mmadaptformer.benchmark.gpu_check.commands import stop_running_tools


def run_check(name: str, ctx: dict) -> dict:
    """Run the check ``name``; an exception becomes an ``error`` result.

    Args:
        name (str): A key of :data:`CHECKS`.
        ctx (dict): The check context.

    Returns:
        dict: The result with ``status`` (``passed``, ``failed``,
        ``skipped`` or ``error``) and ``seconds``.
    """
    start = time.perf_counter()
    try:
        result = CHECKS[name][1](ctx)
    except SkipCheck as e:
        result = dict(status='skipped', reason=str(e))
    except Exception as e:  # recorded in the results, not swallowed
        result = dict(
            status='error',
            reason=f'{type(e).__name__}: {e}',
            traceback=traceback.format_exc()[-6000:])
    result['seconds'] = time.perf_counter() - start
    return result


def main() -> None:
    """Run ``argv[1]`` with the context file ``argv[2]`` into
    ``argv[3]``."""
    name, context, out = sys.argv[1:4]

    def on_sigterm(signum, frame):
        # The runner stops a check that ran out of time: its tools go too.
        stop_running_tools()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    with open(context) as f:
        ctx = json.load(f)
    result = run_check(name, ctx)
    with open(out, 'w') as f:
        json.dump(result, f, indent=2, default=str)
    if result.get('traceback'):
        print(result['traceback'], file=sys.stderr)


if __name__ == '__main__':
    main()
