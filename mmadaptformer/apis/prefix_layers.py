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

#: How many of the last blocks the shared-prefix row adapts by default, at
#: most: one block less than the model has, so that at least the first stays
#: shared between the tasks (with every block adapted, the row would time
#: the fan-out against itself).
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
    """The last ``min(count, num_blocks - 1)`` blocks (at least one), as
    negative indices.

    One block less than the model has at most, so that the blocks before
    the first adapted one are shared by the tasks: adapting all of them
    would leave no prefix to share (``split_at`` 0, a speed-up of about 1).
    A model of one block can only have that block adapted.

    Args:
        num_blocks (int): Adaptable blocks of the model, at least 1.
        count (int): How many of the last blocks to take at most. Defaults
            to :data:`DEFAULT_PREFIX_BLOCKS`.

    Returns:
        list[int]: E.g. ``[-3, -2, -1]`` for 12 blocks, ``[-2, -1]`` for 3,
        ``[-1]`` for 2 or 1.

    Examples:
        >>> default_prefix_layers(12)
        [-3, -2, -1]
        >>> default_prefix_layers(3)
        [-2, -1]
        >>> default_prefix_layers(2)
        [-1]
    """
    if num_blocks < 1 or count < 1:
        raise ValueError(f'num_blocks ({num_blocks}) and count ({count}) '
                         'must be at least 1.')
    return list(range(-max(1, min(count, num_blocks - 1)), 0))


def default_prefix_source(num_blocks: int, name: str) -> str:
    """How :func:`default_prefix_layers` chose for ``num_blocks`` blocks.

    Args:
        num_blocks (int): Adaptable blocks of the model, at least 1.
        name (str): How the caller names the option.

    Returns:
        str: E.g. ``"default, the last 1 of the model's 2 adaptable blocks
        (min(3, N - 1), so that at least one block is shared; prefix_layers
        not given)"``.
    """
    if num_blocks == 1:
        return ("default, the model's only adaptable block (no block is "
                f'left to share; {name} not given)')
    count = len(default_prefix_layers(num_blocks))
    return (f"default, the last {count} of the model's {num_blocks} "
            f'adaptable blocks (min({DEFAULT_PREFIX_BLOCKS}, N - 1), so that '
            f'at least one block is shared; {name} not given)')


def prefix_layers_of(
        cfg: Config,
        given: Optional[Sequence[int]],
        name: str = 'prefix_layers',
        num_blocks: Optional[int] = None) -> Tuple[List[int], str]:
    """The blocks of the shared-prefix row and where they come from.

    Given ones are passed on as they are (the model refuses an index it
    lacks, naming the valid range); the default fits the model, so that a
    model of fewer blocks is not refused for an option nobody gave, and
    leaves at least its first block shared (see
    :func:`default_prefix_layers`).

    Args:
        cfg (Config): An AdaptFormer config.
        given (Sequence[int], optional): The blocks asked for, or None.
        name (str): How the caller names the option, for the answer.
            Defaults to ``'prefix_layers'``.
        num_blocks (int, optional): :func:`adaptable_block_count` of
            ``cfg``, where the caller has counted them (it builds the
            host). Defaults to None: counted here if needed.

    Returns:
        tuple[list[int], str]: The blocks, and how they were chosen.
    """
    if given is not None:
        return list(given), f'given ({name})'
    if num_blocks is None:
        num_blocks = adaptable_block_count(cfg)
    return (default_prefix_layers(num_blocks),
            default_prefix_source(num_blocks, name))
