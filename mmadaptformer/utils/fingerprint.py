# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Cheap, bit-exact fingerprints of tensors, computed where they live.

A fingerprint of a tensor is two int64 numbers over its raw bits: their sum,
and a position-weighted sum that also catches swapped values. Any change of
any bit of a value changes the plain sum unless another change cancels it
exactly, which the weighted sum catches in turn. It runs on the tensor's own
device, so on a GPU nothing is copied to the host but the two numbers.
"""
import hashlib
from typing import Dict, Iterable, List, Mapping, Tuple

import torch

__all__ = [
    'tensor_fingerprint', 'state_fingerprints', 'digest', 'same_values',
    'changed_keys'
]

_INT_VIEW = {
    1: torch.int8,
    2: torch.int16,
    4: torch.int32,
    8: torch.int64,
}
# A prime modulus keeps the position weights small enough that the int64
# weighted sum of a tensor cannot overflow for any realistic size.
_WEIGHT_MODULUS = 65521

Fingerprint = Tuple[Tuple[int, ...], str, int, int]


def tensor_fingerprint(tensor: torch.Tensor) -> Fingerprint:
    """Fingerprint one tensor.

    Args:
        tensor (torch.Tensor): Any dense tensor.

    Returns:
        tuple: ``(shape, dtype, bit_sum, weighted_bit_sum)``.
    """
    t = tensor.detach()
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    bits = t.contiguous().view(_INT_VIEW[t.element_size()]).flatten()
    n = bits.numel()
    total = int(bits.sum(dtype=torch.int64))
    # Weight of element i is (i mod M) + 1: sum each column of an (rows, M)
    # view, then weight the M column sums, instead of materialising weights.
    m = _WEIGHT_MODULUS
    full = n - n % m
    weighted = 0
    if full:
        columns = bits[:full].view(-1, m).sum(0, dtype=torch.int64)
        weighted += int((columns * torch.arange(
            1, m + 1, device=bits.device, dtype=torch.int64)).sum())
    if n > full:
        tail = bits[full:].to(torch.int64)
        weighted += int((tail * torch.arange(
            1, n - full + 1, device=bits.device, dtype=torch.int64)).sum())
    return (tuple(tensor.shape), str(tensor.dtype).replace('torch.', ''),
            total, weighted)


def state_fingerprints(
    named_tensors: Iterable[Tuple[str,
                                  torch.Tensor]]) -> Dict[str, Fingerprint]:
    """Fingerprint named tensors, e.g. ``model.state_dict().items()``.

    Args:
        named_tensors (Iterable[tuple[str, Tensor]]): Names and tensors.

    Returns:
        dict: ``{name: fingerprint}``.
    """
    return {name: tensor_fingerprint(t) for name, t in named_tensors}


def digest(fingerprints: Mapping[str, Fingerprint]) -> str:
    """A single hex digest of many fingerprints, independent of order.

    Args:
        fingerprints (Mapping[str, tuple]): As returned by
            :func:`state_fingerprints`.

    Returns:
        str: A SHA-256 hex digest.
    """
    h = hashlib.sha256()
    for name in sorted(fingerprints):
        h.update(repr((name, fingerprints[name])).encode())
    return h.hexdigest()


def same_values(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors hold the same values, a NaN equal to a NaN at
    the same place.

    ``torch.equal`` calls a tensor with a NaN unequal to itself, so a
    frozen buffer that holds one (mmpretrain's ``SwinTransformerV2`` with
    ``window_size`` 1 divides by zero in its ``relative_coords_table``)
    would read as trained.

    Args:
        a (torch.Tensor): One tensor.
        b (torch.Tensor): The other.

    Returns:
        bool: True if shapes, dtypes and values (NaNs by place) agree.
    """
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if torch.equal(a, b):
        return True
    if not (a.is_floating_point() or a.is_complex()):
        return False
    nan = torch.isnan(a)
    return torch.equal(nan, torch.isnan(b)) and torch.equal(a[~nan], b[~nan])


def changed_keys(before: Mapping[str, torch.Tensor],
                 after: Mapping[str, torch.Tensor]) -> List[str]:
    """The keys of ``before`` whose tensor in ``after`` holds other values
    (:func:`same_values`), in the order of ``before``.

    Args:
        before (Mapping[str, Tensor]): E.g. a model's frozen tensors before
            a checkpoint loaded.
        after (Mapping[str, Tensor]): The same keys (at least) afterwards.

    Returns:
        list[str]: The keys that changed.
    """
    return [k for k, v in before.items() if not same_values(v, after[k])]
