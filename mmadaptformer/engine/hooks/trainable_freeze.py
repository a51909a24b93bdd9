# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Apply an AdapterHook's trainable plan to the runner's model: freeze,
report, and restrict the optimizer and DDP to what trains."""
import copy
from typing import List

from mmengine.logging import print_log
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mmadaptformer.models.adapters.input_sized_state import \
    hook_input_sized_state
from mmadaptformer.models.adapters.trainable import (TrainablePlan,
                                                     apply_trainable,
                                                     frozen_batch_norms)
from ..optim_check import check_trainable_lr
from .run_optim_wrappers import built_optim_wrappers
from .trainable_optimizer import restrict_optimizer

__all__ = ['freeze_to_plan', 'trainable_table']


def trainable_table(plan: TrainablePlan, frozen_params: int) -> str:
    """The table of what trains under ``plan``, by group, that the hook
    logs.

    Args:
        plan (TrainablePlan): The plan.
        frozen_params (int): How many parameter elements are frozen.

    Returns:
        str: The table's lines.
    """
    params = [k for k in plan.numels if k in plan.trainable_keys]
    trainable = plan.count(params)
    total = trainable + frozen_params
    rows = [(group, plan.count(keys), len(keys))
            for group, keys in plan.groups.items()]
    rows += [('trainable', trainable, len(params)),
             ('frozen', frozen_params, None), ('total', total, None)]
    lines = [
        f'AdapterHook (mode={plan.mode}): trainable parameters',
        f'{"group":<10} {"parameters":>14} {"tensors":>8}'
    ]
    for name, count, tensors in rows:
        lines.append(f'{name:<10} {count:>14,} '
                     f'{"" if tensors is None else tensors:>8}')
    lines.append(f'trainable share: {100.0 * trainable / total:.2f}% '
                 f'of {total:,} parameters')
    return '\n'.join(lines)


def freeze_to_plan(runner, model: nn.Module,
                   plan: TrainablePlan) -> List[nn.Module]:
    """Freeze ``model`` (the runner's, unwrapped) to ``plan``, log the
    table of what trains, restrict the runner's optimizers to it (warning
    of a ``paramwise_cfg`` that slows it down) and rebuild a DDP wrapper
    around it.

    Args:
        runner (Runner): The runner.
        model (nn.Module): Its unwrapped model.
        plan (TrainablePlan): What trains.

    Returns:
        list[nn.Module]: The frozen batch norms, which must stay in eval
        mode.
    """
    # Injection hooks the hosts it adapts; a model it did not build (a
    # plain backbone under linear_probe) needs it too, or EVA-02 at
    # another input size re-registered its rotary tables and the
    # frozen-tensor check stopped the run after the first epoch.
    for name in hook_input_sized_state(model):
        print_log(
            f'AdapterHook: {name}: its state, which its forward rebuilds '
            'for inputs of another size, is restored after each call, '
            'so the frozen backbone stays as loaded.',
            logger='current')
    was_trainable = {id(p) for p in model.parameters() if p.requires_grad}
    apply_trainable(model, plan)
    frozen_norms = frozen_batch_norms(model, plan)
    frozen_params = sum(p.numel() for p in model.parameters()
                        if not p.requires_grad)
    print_log(trainable_table(plan, frozen_params), logger='current')

    trainable = [p for p in model.parameters() if p.requires_grad]
    wrappers = built_optim_wrappers(runner)
    for wrapper in wrappers:
        restrict_optimizer(wrapper, trainable)
    if wrappers:
        # A paramwise_cfg rule for the (now frozen) backbone may slow
        # the adapters down: warn, never change the lr.
        check_trainable_lr(runner, model, plan, wrappers)

    newly_frozen = [
        p for p in model.parameters()
        if id(p) in was_trainable and not p.requires_grad
    ]
    if newly_frozen and isinstance(runner.model, DistributedDataParallel):
        # DDP registered a gradient hook for every parameter that needed
        # a gradient when it was built; rebuild it so it only waits for
        # (and all-reduces) the trainable ones.
        wrapper_cfg = copy.deepcopy(runner.cfg.get('model_wrapper_cfg'))
        runner.model = runner.wrap_model(wrapper_cfg, model)
        print_log(
            'AdapterHook: rebuilt the DDP wrapper around the trainable '
            'parameters only.',
            logger='current')
    return frozen_norms
