# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The blocks adapted in the shared-prefix row of
:func:`~mmadaptformer.apis.benchmark.benchmark_inference` (and
``tools/analysis_tools/benchmark_infer.py``) when none are given."""
import copy
from typing import List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from ..models.adapters.block_wiring import check_block_types, find_blocks
from ..utils import ConfigError

#: How many of the last blocks the shared-prefix row adapts by default.
DEFAULT_PREFIX_BLOCKS = 3


def adaptable_block_count(cfg: Config) -> int:
    """How many blocks of an AdaptFormer config's host can take adapters.

    The host (``model.backbone.backbone``) is built with random weights,
    without its pretrained ones, and its blocks are found as
    :func:`~mmadaptformer.models.adapters.inject_adapters` finds them
    (``model.backbone.block_types`` included), whatever
    ``model.backbone.layers`` selects.

    Args:
        cfg (Config): A config whose ``model.backbone`` is an AdaptFormer.

    Returns:
        int: The number of adaptable blocks.

    Raises:
        ConfigError: If the host has no block of a known or declared type.
    """
    wrapper = cfg.model.backbone
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    host = MODELS.build(copy.deepcopy(wrapper.backbone))
    declared = check_block_types(wrapper.get('block_types'))
    count = len(find_blocks(host, declared))
    if not count:
        raise ConfigError(
            f'model.backbone.backbone ({type(host).__name__}) has no '
            'transformer block of a known or declared type '
            '(model.backbone.block_types), so no block can be adapted.')
    return count


def default_prefix_layers(num_blocks: int,
                          count: int = DEFAULT_PREFIX_BLOCKS) -> List[int]:
    """The last ``min(count, num_blocks)`` blocks, as negative indices.

    Args:
        num_blocks (int): Adaptable blocks of the model, at least 1.
        count (int): How many of the last blocks to take. Defaults to
            :data:`DEFAULT_PREFIX_BLOCKS`.

    Returns:
        list[int]: E.g. ``[-3, -2, -1]`` for 12 blocks, ``[-2, -1]`` for 2.

    Examples:
        >>> default_prefix_layers(12)
        [-3, -2, -1]
        >>> default_prefix_layers(2)
        [-2, -1]
    """
    if num_blocks < 1 or count < 1:
        raise ValueError(f'num_blocks ({num_blocks}) and count ({count}) '
                         'must be at least 1.')
    return list(range(-min(count, num_blocks), 0))


def prefix_layers_of(cfg: Config,
                     given: Optional[Sequence[int]],
                     name: str = 'prefix_layers') -> Tuple[List[int], str]:
    """The blocks of the shared-prefix row and where they come from.

    Given ones are passed on as they are (the model refuses an index it
    lacks, naming the valid range); the default fits the model, so that a
    model of fewer blocks is not refused for an option nobody gave.

    Args:
        cfg (Config): An AdaptFormer config.
        given (Sequence[int], optional): The blocks asked for, or None.
        name (str): How the caller names the option, for the answer.
            Defaults to ``'prefix_layers'``.

    Returns:
        tuple[list[int], str]: The blocks, and how they were chosen.
    """
    if given is not None:
        return list(given), f'given ({name})'
    num_blocks = adaptable_block_count(cfg)
    layers = default_prefix_layers(num_blocks)
    return layers, (f"default, the last {len(layers)} of the model's "
                    f'{num_blocks} adaptable blocks ({name} not given)')
