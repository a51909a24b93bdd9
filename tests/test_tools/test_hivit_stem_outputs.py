# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A HiViT whose out_indices reach its stem is refused before the work dir.

mmpretrain's HiViT sets ``out_indices[-1] = depths[-1] - 1`` and matches
its out_indices in its stem loop too: with ``depths=[1, 1, 2]`` (6 stem
modules, last index 1) the head got a stem feature of width 8 and training
failed at its first step (``running_mean should contain 8 elements not
32``), after the work dir was made.
"""

import pytest
from hivit_configs import adapted_hivit_body, train_hivit
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.models.backbones.host_outputs import hivit_unusable_outputs


def test_train_refuses_hivit_out_index_in_stem(tmp_path, tiny_image_data):
    config, work_dir, proc = train_hivit(
        tmp_path, TINY_ADAPTFORMER_IMAGE_CONFIG,
        adapted_hivit_body(tiny_image_data, [1, 1, 2]))
    line = refused_line(proc, no_dir=work_dir)
    assert line.startswith(f'ConfigError: {config}: '), line
    assert 'model.backbone.backbone.arch.depths=[1, 1, 2]' in line, line
    assert 'model.backbone.backbone.out_indices=[1]' in line, line
    assert 'stem' in line and 'depths[-1] >= 7' in line, line


@pytest.mark.parametrize('arch', ['tiny', 'small', 'base', 'large'])
def test_stock_hivit_archs_pass(arch):
    """Guard of kept behaviour: no stock arch returns a stem feature."""
    from mmpretrain.models.backbones.hivit import HiViT
    host = HiViT(arch=arch, img_size=32, out_indices=[23])
    assert hivit_unusable_outputs(host, 'model.backbone') is None


@pytest.mark.parametrize('depths,out_indices,stem_hit', [
    ([1, 1, 6], [23], True),
    ([1, 1, 7], [23], False),
    ([2, 2, 10], [23], True),
    ([2, 2, 11], [23], False),
    ([1, 1, 10], [2, 23], True),
    ([1, 1, 10], [-1, 23], False),
])
def test_hivit_stem_outputs_exact(depths, out_indices, stem_hit):
    """Exactly the (depths, out_indices) whose effective indices (the last
    set to ``depths[-1] - 1``) fall below the stem length
    ``2 * sum(depths[:-1]) + len(depths) - 1`` are refused."""
    from mmpretrain.models.backbones.hivit import HiViT
    host = HiViT(
        arch=dict(embed_dims=32, depths=depths, num_heads=2),
        img_size=32,
        out_indices=list(out_indices))
    assert (hivit_unusable_outputs(host, 'model.backbone')
            is not None) == stem_hit


def test_train_names_the_option_that_shrank_depths(tmp_path, tiny_image_data):
    _, work_dir, proc = train_hivit(
        tmp_path, TINY_ADAPTFORMER_IMAGE_CONFIG,
        adapted_hivit_body(tiny_image_data, [1, 1, 7]),
        'model.backbone.backbone.arch.depths=[1,1,3]')
    line = refused_line(proc, no_dir=work_dir)
    assert line.startswith('ConfigError: --cfg-options '
                           'model.backbone.backbone.arch.depths='), line
    assert 'out_indices=[2]' in line and 'index 2' in line, line
