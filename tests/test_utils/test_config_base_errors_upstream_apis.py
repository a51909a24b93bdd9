# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The toolboxes' own APIs given a config path whose bases hold a mistake
(a ``{{_base_.X}}`` typo, a key two bases define) raise the one-line
:class:`ConfigKeyError` our tools and APIs raise. Before, mmaction2's
``init_recognizer`` and mmpretrain's ``get_model`` ended with MMEngine's
bare ``KeyError: 'backbon'`` or ``Duplicate key is not allowed among
bases``, naming no file, line or base, though they read the config through
our guarded ``Config.fromfile``."""
import pytest
from config_writers import write_config
from repo_paths import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG

import mmadaptformer  # noqa: F401  (the upstream fixes)
from mmadaptformer.utils.config_base_errors import ConfigKeyError


def test_init_recognizer_names_a_misspelt_base_reference(tmp_path):
    """The file, the line, the reference, the closest key and the keys at
    that level; still a KeyError."""
    from mmaction.apis import init_recognizer
    config = write_config(
        tmp_path / 'typo.py', TINY_VIDEO_CONFIG,
        'model = dict(backbone=dict(_delete_=True, type="AdaptFormer",\n'
        '    backbone={{_base_.model.backbon}}))\n')
    with pytest.raises(ConfigKeyError) as info:
        init_recognizer(config, device='cpu')
    assert isinstance(info.value, KeyError)
    assert str(info.value) == (
        f'{config}, line 3: {{{{_base_.model.backbon}}}} names '
        "'backbon' (did you mean 'backbone'?), which its bases do not "
        'define; _base_.model has: backbone, cls_head, data_preprocessor, '
        'type.')


def test_init_recognizer_names_a_key_two_bases_define(tmp_path):
    """The config, the key and both bases as written."""
    from mmaction.apis import init_recognizer
    with open(tmp_path / 'data.py', 'w') as f:
        f.write('train_cfg = dict(max_epochs=2)\n')
    config = str(tmp_path / 'dup.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{TINY_VIDEO_CONFIG!r}, "./data.py"]\n')
    with pytest.raises(ConfigKeyError) as info:
        init_recognizer(config, device='cpu')
    assert str(info.value).startswith(
        f'{config}: two of its _base_ files define train_cfg: ./data.py '
        f'and {TINY_VIDEO_CONFIG} (directly or through their own bases)')


def test_mmpretrain_get_model_names_a_misspelt_base_reference(tmp_path):
    """mmpretrain's get_model reads a ``.py`` path with the same
    ``Config.fromfile``."""
    from mmpretrain.apis import get_model
    config = write_config(tmp_path / 'typo.py', TINY_IMAGE_CONFIG,
                          'model = dict(backbone={{_base_.model.backbon}})\n')
    with pytest.raises(ConfigKeyError) as info:
        get_model(config, device='cpu')
    assert str(info.value) == (
        f'{config}, line 2: {{{{_base_.model.backbon}}}} names '
        "'backbon' (did you mean 'backbone'?), which its bases do not "
        'define; _base_.model has: backbone, data_preprocessor, head, '
        'neck, type.')


def test_init_recognizer_passes_other_key_errors_unchanged(tmp_path):
    """Guards kept behaviour: a KeyError the config's own code raises is
    MMEngine's own, not taken for a base mistake."""
    from mmaction.apis import init_recognizer
    config = write_config(tmp_path / 'own.py', TINY_VIDEO_CONFIG,
                          'x = dict(a=1)["b"]\n')
    with pytest.raises(KeyError) as info:
        init_recognizer(config, device='cpu')
    assert not isinstance(info.value, ConfigKeyError)
