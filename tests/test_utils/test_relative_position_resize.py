# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmpretrain's relative position bias tables resize on SciPy 1.14+
(``utils/relative_position_resize.py``; ``UPSTREAM_CHANGES`` 19, the
README's upstream gap 18): loading a BEiT or Swin checkpoint of another
window size raised ``NotImplementedError: `interp2d` has been removed in
SciPy 1.14.0`` before."""
import mmpretrain.models.utils as mmpretrain_utils
import numpy as np
import pytest
import scipy
import torch
from block_builders import mmpretrain_backbone_cfg
from mmengine.registry import MODELS
from mmengine.runner import load_checkpoint
from mmpretrain.models.backbones import beit, swin_transformer
from mmpretrain.models.utils import embed
from scipy.optimize import brentq
from tool_runners import run_fresh_python

from mmadaptformer.models import AdaptFormer
from mmadaptformer.utils.relative_position_resize import (
    fix_relative_position_resize, interp2d_removed,
    resize_relative_position_bias_table_by_spline)

_NAME = 'resize_relative_position_bias_table'
_MODULES = (embed, mmpretrain_utils, beit, swin_transformer)

#: ``resize_relative_position_bias_table(5, d, table, 1)`` for ``table =
#: sin(0, 1, ..., 24)`` (float32), computed by mmpretrain 1.2.0's own
#: function with SciPy 1.13.1's ``interp2d`` (the last SciPy that had it).
SCIPY_1_13 = {
    3: [
        -0.279415488243103, 0.6569865942001343, 0.9893582463264465,
        -0.9999902248382568, -0.5365729331970215, 0.4201670289039612,
        -0.2879033088684082, -0.9613974690437317, -0.7509872317314148
    ],
    7: [
        1.471504348022838e-17, 0.27567705512046814, 0.8414709568023682,
        0.9092974066734314, 0.14112000167369843, -0.670590341091156,
        -0.756802499294281, -0.49587497115135193, -0.2257653772830963,
        0.744518518447876, 1.3004051446914673, 0.6607052683830261,
        -0.33900830149650574, -0.5864440202713013, -0.9589242935180664,
        -0.9998077154159546, -0.279415488243103, 0.6569865942001343,
        0.9893582463264465, 0.7144745588302612, 0.41211849451065063,
        -0.5440211296081543, -0.8428923487663269, -0.9999902248382568,
        -0.5365729331970215, 0.4201670289039612, 1.0759291648864746,
        0.9906073808670044, 0.6502878665924072, 0.5216143727302551,
        -0.2879033088684082, -0.9613974690437317, -0.7509872317314148,
        -0.10407370328903198, 0.14987720549106598, 1.300795078277588,
        1.4728878736495972, 0.7350419759750366, -0.5065052509307861,
        -1.2823737859725952, -1.252909541130066, -0.8792338967323303,
        0.9129452705383301, 1.1388168334960938, 0.8366556167602539,
        -0.008851309306919575, -0.8462203741073608, -1.1349726915359497,
        -0.9055783748626709
    ],
}

BEIT_CONFIG = 'beit/benchmarks/beit-base-p16_8xb64_in1k.py'


def _beit_cfg(img_size: int) -> dict:
    """mmpretrain's BEiT fine-tuning backbone, 2 tiny layers of 2 heads,
    at ``img_size`` (patch 16: a window of ``img_size // 16``)."""
    return mmpretrain_backbone_cfg(
        BEIT_CONFIG, 'BEiTViT',
        dict(
            arch=dict(
                embed_dims=32,
                num_layers=2,
                num_heads=2,
                feedforward_channels=64),
            img_size=img_size))


def _tables(model: torch.nn.Module) -> dict:
    return {
        name: tensor.detach().clone()
        for name, tensor in model.state_dict().items()
        if name.endswith('relative_position_bias_table')
    }


def _assert_grid_points_kept(source: torch.Tensor, resized: torch.Tensor):
    """BEiT's tables hold ``side ** 2`` relative positions and 3 extra
    tokens. The resize keeps the extra tokens, and the resized grid's
    central 3 by 3 (relative positions -1, 0 and 1, which the source grid
    holds at any size) are the source's: a spline passes through its
    points."""
    heads = source.shape[1]
    src, dst = (round((len(t) - 3)**0.5) for t in (source, resized))
    assert resized.shape == (dst**2 + 3, heads)
    torch.testing.assert_close(resized[-3:], source[-3:], rtol=0, atol=0)
    c_src, c_dst = src // 2, dst // 2
    torch.testing.assert_close(
        resized[:-3].view(dst, dst, heads)[c_dst - 1:c_dst + 2,
                                           c_dst - 1:c_dst + 2],
        source[:-3].view(src, src, heads)[c_src - 1:c_src + 2,
                                          c_src - 1:c_src + 2],
        rtol=1e-5,
        atol=1e-5)


@pytest.mark.parametrize('img_size', [96, 32])
def test_a_beit_checkpoint_of_another_window_size_loads(tmp_path, img_size):
    """A real BEiT at 64 pixels (window 4, a 7 by 7 table) saved to a file
    and loaded by MMEngine's ``load_checkpoint`` into one at 96 (window 6,
    11 by 11) or 32 (window 2, 3 by 3): its load pre-hook resizes each
    table. Both raised ``NotImplementedError`` before."""
    torch.manual_seed(0)
    source = MODELS.build(_beit_cfg(64))
    source.init_weights()
    checkpoint = tmp_path / 'beit_64.pth'
    torch.save(dict(state_dict=source.state_dict()), checkpoint)
    model = MODELS.build(_beit_cfg(img_size))
    index = model.layers[0].attn.relative_position_index.clone()
    load_checkpoint(model, str(checkpoint))
    source_tables, tables = _tables(source), _tables(model)
    assert sorted(tables) == [
        f'layers.{i}.attn.relative_position_bias_table' for i in range(2)
    ]
    side = 2 * (img_size // 16) - 1
    for name, table in tables.items():
        assert table.shape == (side**2 + 3, 2)
        _assert_grid_points_kept(source_tables[name], table)
    # The index of the model's own window is kept.
    torch.testing.assert_close(
        model.layers[0].attn.relative_position_index, index, rtol=0, atol=0)
    # The resized model runs.
    assert model(torch.rand(1, 3, img_size, img_size))[0].shape[0] == 1


def test_adaptformer_on_beit_takes_a_host_of_another_window_size():
    """AdaptFormer on a BEiT at 32 pixels given the state dict of a BEiT
    at 64: the host's pre-hook resizes its tables under the wrapper."""
    torch.manual_seed(0)
    source = MODELS.build(_beit_cfg(64))
    source.init_weights()
    model = AdaptFormer(backbone=_beit_cfg(32))
    model.load_state_dict(source.state_dict(), strict=False)
    source_tables = _tables(source)
    tables = _tables(model.backbone)
    assert sorted(tables) == sorted(source_tables)
    for name, table in tables.items():
        assert table.shape == (12, 2)
        _assert_grid_points_kept(source_tables[name], table)


def test_a_swin_checkpoint_of_another_window_size_loads(tmp_path):
    """mmpretrain's Swin Transformer resizes its tables (no extra tokens)
    with the same function: window 3 (5 by 5) to window 4 (7 by 7)."""

    def swin(window: int) -> torch.nn.Module:
        return MODELS.build(
            dict(
                type='mmpretrain.SwinTransformer',
                arch=dict(
                    embed_dims=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
                img_size=96,
                patch_size=4,
                window_size=window))

    torch.manual_seed(0)
    source = swin(3)
    checkpoint = tmp_path / 'swin_w3.pth'
    torch.save(dict(state_dict=source.state_dict()), checkpoint)
    model = swin(4)
    load_checkpoint(model, str(checkpoint))
    source_tables, tables = _tables(source), _tables(model)
    assert len(tables) == 4 and sorted(tables) == sorted(source_tables)
    for name, table in tables.items():
        assert table.shape == (49, 1)
        torch.testing.assert_close(
            table.view(7, 7)[2:5, 2:5],
            source_tables[name].view(5, 5)[1:4, 1:4],
            rtol=1e-5,
            atol=1e-5)


@pytest.mark.parametrize('dst', [3, 7])
def test_the_resize_gives_what_scipy_1_13_gave(dst):
    table = torch.sin(torch.arange(25, dtype=torch.float32)).view(25, 1)
    resized = embed.resize_relative_position_bias_table(5, dst, table, 1)
    assert resized.shape == (dst**2, 1) and resized.dtype == torch.float32
    np.testing.assert_allclose(
        resized.view(-1).numpy(), SCIPY_1_13[dst], rtol=1e-6, atol=1e-6)


def _source_positions(src: int, dst: int) -> np.ndarray:
    """The relative positions mmpretrain spreads a ``src`` side over: 0,
    then ``1, 1 + q, 1 + q + q**2, ...`` either way, ``q`` making the last
    reach ``dst // 2``, within its bounds 1.01 and 1.5 (a grid that
    ends short of ``dst // 2`` is extrapolated)."""
    n = src // 2

    def overshoot(q):
        return (q**n - 1) / (q - 1) - dst // 2

    if overshoot(1.01) >= 0:
        q = 1.01
    elif overshoot(1.5) <= 0:
        q = 1.5
    else:
        q = brentq(overshoot, 1.01, 1.5)
    dis = np.cumsum([q**i for i in range(n)])
    return np.concatenate([-dis[::-1], [0.0], dis])


@pytest.mark.parametrize('src, dst', [(7, 11), (11, 7), (5, 13), (13, 23)])
def test_a_bicubic_polynomial_is_reproduced(src, dst):
    """A bicubic spline reproduces any polynomial of degree 3 or less in
    each axis; one that is not symmetric in x and y checks the axes: row
    ``i``, column ``j`` of a head's table is the relative position
    ``(y[i], x[j])``, as ``interp2d`` read it. From 7 to 11 the grid
    ends at 4.75 (``q`` at its bound 1.5): a position past it takes the
    value at the grid's edge, as ``interp2d``'s ``bisplev`` gave."""

    def poly(x, y):
        return (0.3 + 0.2 * x - 0.1 * y + 0.05 * x**2 * y - 0.02 * x**3 +
                0.01 * x * y**3 - 0.001 * x**3 * y**2)

    pos = _source_positions(src, dst)
    grid_y, grid_x = np.meshgrid(pos, pos, indexing='ij')
    table = torch.from_numpy(
        np.stack([poly(grid_x, grid_y), -poly(grid_y, grid_x)],
                 axis=-1).reshape(src * src, 2).astype(np.float32))
    resized = embed.resize_relative_position_bias_table(src, dst, table, 2)
    t = dst // 2
    new = np.clip(np.arange(-t, t + 1.0), pos[0], pos[-1])
    new_y, new_x = np.meshgrid(new, new, indexing='ij')
    expected = np.stack([poly(new_x, new_y), -poly(new_y, new_x)], axis=-1)
    np.testing.assert_allclose(
        resized.view(dst, dst, 2).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_only_a_resize_without_interp2d_is_replaced(monkeypatch):
    """A fixed mmpretrain (or SciPy before 1.14) is left alone, the fix is
    idempotent, and another ``NotImplementedError`` is not taken for
    SciPy's."""
    removed = np.lib.NumpyVersion(scipy.__version__) >= '1.14.0'
    for module in _MODULES:
        assert (getattr(module, _NAME) is
                resize_relative_position_bias_table_by_spline) == removed
    assert fix_relative_position_resize() is False
    assert not interp2d_removed(resize_relative_position_bias_table_by_spline)

    def fixed_upstream(src_shape, dst_shape, table, num_head):
        return torch.zeros(dst_shape**2, num_head)

    for module in _MODULES:
        monkeypatch.setattr(module, _NAME, fixed_upstream)
    assert fix_relative_position_resize() is False
    assert all(getattr(m, _NAME) is fixed_upstream for m in _MODULES)

    def unfinished(src_shape, dst_shape, table, num_head):
        raise NotImplementedError('resize on the GPU')

    with pytest.raises(NotImplementedError, match='resize on the GPU'):
        interp2d_removed(unfinished)


def test_mmpretrains_own_resize_fails_and_import_replaces_it():
    """In a fresh process: mmpretrain's function raises SciPy's error
    before ``import mmadaptformer``, which binds each of its names to the
    copy (kept behaviour under SciPy before 1.14: left alone)."""
    result = run_fresh_python("""
        import torch
        from mmpretrain.models.backbones import beit, swin_transformer
        import mmpretrain.models.utils as utils
        from mmpretrain.models.utils import embed
        try:
            embed.resize_relative_position_bias_table(
                5, 7, torch.zeros(25, 1), 1)
        except NotImplementedError as error:
            print('before:', str(error).splitlines()[0])
        else:
            print('before: no error')
        import mmadaptformer
        from mmadaptformer.utils.relative_position_resize import \\
            resize_relative_position_bias_table_by_spline as ours
        name = 'resize_relative_position_bias_table'
        print('after:', [getattr(module, name) is ours
                         for module in (embed, utils, beit, swin_transformer)])
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    if np.lib.NumpyVersion(scipy.__version__) >= '1.14.0':
        assert lines == [
            'before: `interp2d` has been removed in SciPy 1.14.0.',
            'after: [True, True, True, True]'
        ], result.stdout
    else:
        assert lines == [
            'before: no error', 'after: [False, False, False, False]'
        ], result.stdout
