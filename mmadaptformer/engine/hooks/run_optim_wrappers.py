# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A run's built optimizer wrappers, which also tell whether it trains."""
from typing import List, Tuple

from mmengine.optim import BaseOptimWrapper, OptimWrapperDict
from mmengine.runner import Runner

__all__ = ['named_optim_wrappers', 'built_optim_wrappers', 'run_trains']


def named_optim_wrappers(runner: Runner) -> List[Tuple[str, BaseOptimWrapper]]:
    """The run's built optimizer wrappers, by name.

    ``Runner.train()`` builds them before it loads a checkpoint and before
    any ``before_train``; ``Runner.test()`` and ``Runner.val()`` never do,
    so ``runner.optim_wrapper`` stays a config there.

    Args:
        runner (Runner): The runner.

    Returns:
        list[tuple[str, BaseOptimWrapper]]: ``(name, wrapper)``; the name
        is '' for a single wrapper; none while the optimizer is not built.
    """
    optim_wrapper = runner.optim_wrapper
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.items())
    if isinstance(optim_wrapper, BaseOptimWrapper):
        return [('', optim_wrapper)]
    return []


def built_optim_wrappers(runner: Runner) -> List[BaseOptimWrapper]:
    """The run's built optimizer wrappers (see
    :func:`named_optim_wrappers`).

    Args:
        runner (Runner): The runner.

    Returns:
        list[BaseOptimWrapper]: Its wrappers; none when it is not built.
    """
    return [wrapper for _, wrapper in named_optim_wrappers(runner)]


def run_trains(runner: Runner) -> bool:
    """Whether the run trains: it has built its optimizer, as
    ``Runner.train()`` does before it loads a checkpoint; a run that only
    tests or validates never does.

    Args:
        runner (Runner): The runner.

    Returns:
        bool: True in ``Runner.train()`` from its checkpoint load on.
    """
    return bool(named_optim_wrappers(runner))
