# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a ``RandomErasing`` fill colour that no ``uint8`` pixel holds.

mmaction2's and mmpretrain's ``RandomErasing`` (1.2.0) with
``mode='const'`` fill the erased patch with
``np.array(fill_color, dtype=np.uint8)``; ``fill_color`` is a number or a
sequence of three, checked only for being numbers. The cast drops a
float's fraction, then a value outside 0 to 255 never fills what it says:
under NumPy 1 it wrapped silently (300 and 300.7 filled 44, -1 filled
255), and under NumPy 2 the cast raises ``OverflowError: Python integer
300 out of bounds for uint8``, which names no argument, at whichever batch
first erases a patch (``erase_prob`` of them).

:func:`check_random_erasing_fill` wraps both classes' ``__init__`` (public;
the transforms have no other hook at construction) so that such a value is
refused when the transform is built (by a pipeline, a Runner, an
inferencer or a direct call), naming ``fill_color``, the value and the
range; the original constructor runs first and unchanged, so a valid
value behaves as before. ``mode='rand'`` uses ``fill_color`` as the mean
of a normal draw that is clipped to 0 to 255, so any number is taken
there.
"""
import functools
import inspect
from numbers import Number

__all__ = [
    'RandomErasingFillError', 'fill_color_error', 'check_random_erasing_fill'
]

#: Where each toolbox defines its ``RandomErasing``.
_CLASSES = (('mmaction2', 'mmaction.datasets.transforms.processing'),
            ('mmpretrain', 'mmpretrain.datasets.transforms.processing'))


class RandomErasingFillError(ValueError):
    """A ``RandomErasing(mode='const')`` fill colour outside 0 to 255."""


def fill_color_error(toolbox: str, fill_color, mode: str):
    """The error for ``fill_color`` of ``toolbox``'s ``RandomErasing``, or
    None where ``mode`` is not ``'const'`` or each value is from 0 to 255.

    Args:
        toolbox (str): ``'mmaction2'`` or ``'mmpretrain'``, for the message.
        fill_color (Number | Sequence[Number]): As given to the transform.
        mode (str): Its ``mode``.

    Returns:
        RandomErasingFillError | None: The error to raise.
    """
    if mode != 'const':
        return None
    values = [fill_color] if isinstance(fill_color, Number) else \
        list(fill_color)
    # The cast drops the fraction: -0.5 fills 0 and 255.5 fills 255.
    bad = [value for value in values if not -1 < value < 256]
    if not bad:
        return None
    return RandomErasingFillError(
        f"{toolbox}'s RandomErasing: fill_color={fill_color!r} is out of "
        "range: with mode='const' it is the colour of the erased uint8 "
        'pixels, so each value must be from 0 to 255 (its fraction is '
        'dropped), not '
        f'{", ".join(map(repr, bad))} (NumPy 1 wrapped an int silently, '
        '300 to 44; NumPy 2 raised OverflowError at the first erased '
        'image).')


def _checking_init(init, toolbox: str):
    """``init`` (a ``RandomErasing.__init__``), then the fill check."""

    signature = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        # As given: the constructor makes a number a list of three.
        given = signature.bind(self, *args, **kwargs)
        given.apply_defaults()
        error = fill_color_error(toolbox, given.arguments['fill_color'],
                                 self.mode)
        if error is not None:
            raise error

    __init__.checks_fill_color = True
    return __init__


def check_random_erasing_fill() -> None:
    """Wrap mmaction2's and mmpretrain's ``RandomErasing.__init__`` so that
    a ``mode='const'`` fill colour outside 0 to 255 is refused when the
    transform is built (see the module's docstring). Idempotent."""
    import importlib
    for toolbox, module in _CLASSES:
        cls = importlib.import_module(module).RandomErasing
        if not getattr(cls.__init__, 'checks_fill_color', False):
            cls.__init__ = _checking_init(cls.__init__, toolbox)
