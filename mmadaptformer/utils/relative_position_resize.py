# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep mmpretrain's relative position bias resize working on SciPy 1.14+.

mmpretrain 1.2.0's ``resize_relative_position_bias_table`` (in
``mmpretrain/models/utils/embed.py``) fits each head's table with
``scipy.interpolate.interp2d(x, y, z, kind='cubic')``, which SciPy 1.14
removed: the name is kept, and calling it raises ``NotImplementedError:
`interp2d` has been removed in SciPy 1.14.0``. BEiT's and Swin
Transformer's load pre-hooks call the resize whenever a checkpoint's table
was made for another window size, so loading a BEiT pretrained at 224
into one of another image size (with AdaptFormer adapters or without), or
a Swin checkpoint into another window size, failed.

:func:`fix_relative_position_resize` binds the function, only where the
installed one raises that error, to
:func:`resize_relative_position_bias_table_by_spline`: the same steps,
each head fitted with ``RectBivariateSpline(x, y, z.T, kx=3, ky=3, s=0)``,
SciPy's documented replacement on a regular grid. ``interp2d`` with
``kind='cubic'`` on such a grid fitted the same interpolating bicubic
spline (FITPACK's ``regrid_smth`` with ``s=0``, from ``z`` transposed to
``(len(x), len(y))``) and evaluated it with ``bisplev``, which clamps a
point outside the grid to its edge, as ``RectBivariateSpline`` does; its
``(len(dx), len(dy))`` result, transposed, is ``interp2d``'s
``(len(dy), len(dx))``.
"""
import importlib

import numpy as np
import torch

__all__ = [
    'resize_relative_position_bias_table_by_spline', 'interp2d_removed',
    'fix_relative_position_resize'
]

#: The modules that hold mmpretrain's function under its name: where it is
#: defined, the package that exports it, and the two backbones that
#: imported it by name.
_MMPRETRAIN_MODULES = ('mmpretrain.models.utils.embed',
                       'mmpretrain.models.utils',
                       'mmpretrain.models.backbones.beit',
                       'mmpretrain.models.backbones.swin_transformer')

_NAME = 'resize_relative_position_bias_table'


def resize_relative_position_bias_table_by_spline(
        src_shape: int, dst_shape: int, table: torch.Tensor,
        num_head: int) -> torch.Tensor:
    """mmpretrain 1.2.0's ``resize_relative_position_bias_table``, each
    head fitted with SciPy's ``RectBivariateSpline`` where it used the
    removed ``interp2d``.

    Args:
        src_shape (int): The side of the table's square grid of relative
            positions (``2 * window - 1``).
        dst_shape (int): The side of the resized grid.
        table (torch.Tensor): The table, ``(src_shape ** 2, num_head)``,
            without extra tokens.
        num_head (int): The number of attention heads (columns of
            ``table``).

    Returns:
        torch.Tensor: The resized table, ``(dst_shape ** 2, num_head)``,
        on ``table``'s device.
    """
    from scipy.interpolate import RectBivariateSpline

    def geometric_progression(a, r, n):
        return a * (1.0 - r**n) / (1.0 - r)

    # mmpretrain's grid: the source positions spread by a geometric
    # progression whose sum reaches the destination's half side.
    left, right = 1.01, 1.5
    while right - left > 1e-6:
        q = (left + right) / 2.0
        gp = geometric_progression(1, q, src_shape // 2)
        if gp > dst_shape // 2:
            right = q
        else:
            left = q

    dis = []
    cur = 1
    for i in range(src_shape // 2):
        dis.append(cur)
        cur += q**(i + 1)

    r_ids = [-_ for _ in reversed(dis)]

    x = r_ids + [0] + dis
    y = r_ids + [0] + dis

    t = dst_shape // 2.0
    dx = np.arange(-t, t + 0.1, 1.0)
    dy = np.arange(-t, t + 0.1, 1.0)

    all_rel_pos_bias = []

    for i in range(num_head):
        # interp2d took z as (len(y), len(x)) and returned
        # (len(dy), len(dx)); the spline takes and returns x first.
        z = table[:, i].view(src_shape, src_shape).float().numpy()
        spline = RectBivariateSpline(x, y, z.T, kx=3, ky=3, s=0)
        resized = spline(dx, dy).T
        all_rel_pos_bias.append(
            torch.Tensor(resized).contiguous().view(-1, 1).to(table.device))
    new_rel_pos_bias = torch.cat(all_rel_pos_bias, dim=-1)
    return new_rel_pos_bias


def interp2d_removed(resize) -> bool:
    """Whether ``resize`` (mmpretrain's ``resize_relative_position_bias_
    table`` or a replacement) raises SciPy's ``NotImplementedError`` for
    the removed ``interp2d`` (the behaviour this module fixes), tried on a
    5 by 5 table of one head resized to 7 by 7 (a bicubic fit needs more
    than 3 points a side: a 3 by 3 table, a window of 2, never resized).

    Any other error it raises propagates.
    """
    try:
        resize(5, 7, torch.zeros(25, 1), 1)
    except NotImplementedError as error:
        if 'interp2d' not in str(error):
            raise
        return True
    return False


def fix_relative_position_resize() -> bool:
    """Bind mmpretrain's ``resize_relative_position_bias_table`` (where it
    is defined, in ``mmpretrain.models.utils`` and in the BEiT and Swin
    Transformer backbones, which imported it by name) to
    :func:`resize_relative_position_bias_table_by_spline` where the
    installed one raises SciPy's ``NotImplementedError`` for the removed
    ``interp2d``; a fixed mmpretrain, or SciPy before 1.14, is left alone.
    Idempotent.

    Returns:
        bool: Whether it was replaced now.
    """
    modules = [importlib.import_module(name) for name in _MMPRETRAIN_MODULES]
    installed = getattr(modules[0], _NAME)
    if installed is resize_relative_position_bias_table_by_spline or \
            not interp2d_removed(installed):
        return False
    for module in modules:
        if getattr(module, _NAME) is installed:
            setattr(module, _NAME,
                    resize_relative_position_bias_table_by_spline)
    return True
