# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep a seeded run with mmpretrain's RevViT repeatable.

A reversible block (``RevTransformerEncoderLayer``) recomputes its
branches in the backward pass, so before each branch it records a seed and
seeds the generators with it, and the recomputation draws the same dropout
masks. mmpretrain 1.2.0 takes that seed from the operating system's
entropy: ``seed_cuda`` calls ``torch.seed()`` (on a GPU, the CUDA
generator's ``seed()``) and then ``torch.manual_seed`` with it. From the
first forward of a RevViT on, every random number of the process (the
block's dropout, the adapters' dropout, the head's, Mixup and CutMix, the
next step's masks) comes from an unseeded stream, and MMEngine's
``randomness=dict(seed=...)`` no longer makes two runs alike.

:func:`draw_revvit_seeds_from_the_generator` replaces ``seed_cuda`` with
one that draws the seed from the (seeded) CPU generator instead; the rest
is unchanged: the seed is recorded under its key and seeds every
generator, so the backward reproduces the forward's masks, and the masks
still differ from step to step.
"""
import torch

__all__ = ['draw_revvit_seeds_from_the_generator']

#: Seeds are drawn below this bound (``torch.manual_seed`` takes any
#: 64-bit value).
_SEED_BOUND = 2**63 - 1


def _seed_from_the_generator(self, key: str) -> None:
    """``RevTransformerEncoderLayer.seed_cuda``, repeatable: the seed of
    ``key`` is drawn from the global CPU generator, recorded in
    ``self.seeds`` and given to ``torch.manual_seed``."""
    seed = int(torch.randint(_SEED_BOUND, (), dtype=torch.int64))
    self.seeds[key] = seed
    torch.manual_seed(seed)


def draw_revvit_seeds_from_the_generator() -> None:
    """Make mmpretrain's ``RevTransformerEncoderLayer.seed_cuda`` draw its
    seeds from the seeded generator (see the module's docstring).
    Idempotent. Imports ``mmpretrain.models``, so it runs after
    :func:`~.transformers_compat.disable_broken_multimodal`."""
    from mmpretrain.models.backbones.revvit import RevTransformerEncoderLayer
    RevTransformerEncoderLayer.seed_cuda = _seed_from_the_generator
