# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The mmaction2 1.2.0 DRN gap (STACK.md gap 1), in fresh processes
(``helpers.run_fresh_python``)."""
import glob
import os.path as osp
from functools import partial

import pytest
from helpers import TINY_VIDEO_CONFIG, run_fresh_python

from mmadaptformer.utils import drn_is_missing
from mmadaptformer.utils.mmaction_compat import _mmaction_root

# ``python -c CODE`` in a fresh process; stdout and stderr together.
_python = partial(run_fresh_python, timeout=120, separate_stderr=False)


def _site_files():
    root = _mmaction_root()
    return sorted((path, osp.getsize(path), osp.getmtime(path))
                  for path in glob.glob(
                      osp.join(root, 'models', '**', '*.py'), recursive=True))


@pytest.mark.skipif(not drn_is_missing(), reason='mmaction2 ships DRN')
def test_gap_exists_without_mmadaptformer():
    proc = _python('import mmaction.models')
    assert proc.returncode != 0
    assert "No module named 'mmaction.models.localizers.drn'" in proc.stdout


def test_import_mmadaptformer_makes_both_toolboxes_importable():
    before = _site_files()
    proc = _python("""
        import mmadaptformer
        import mmaction.models, mmpretrain.models
        from mmaction.registry import MODELS as A
        from mmpretrain.registry import MODELS as P
        assert 'VisionTransformer' in A.module_dict
        assert 'Recognizer3D' in A.module_dict
        assert 'VisionTransformer' in P.module_dict
        print('OK')
    """)
    assert proc.returncode == 0, proc.stdout
    assert 'OK' in proc.stdout
    # Nothing in site-packages was written or changed.
    assert _site_files() == before


def test_custom_imports_alone_make_default_scope_mmaction_work():
    """What MMAction2's own tools do: load the config, build by scope."""
    proc = _python(f"""
        from mmengine.config import Config
        from mmengine.registry import MODELS, init_default_scope
        cfg = Config.fromfile({TINY_VIDEO_CONFIG!r})  # runs custom_imports
        init_default_scope(cfg.default_scope)
        model = MODELS.build(cfg.model)
        print(type(model).__module__, type(model.backbone).__module__)
    """)
    assert proc.returncode == 0, proc.stdout
    assert ('mmaction.models.recognizers.recognizer3d '
            'mmaction.models.backbones.vit_mae') in proc.stdout


@pytest.mark.skipif(not drn_is_missing(), reason='mmaction2 ships DRN')
def test_building_drn_names_the_upstream_gap():
    proc = _python("""
        import mmadaptformer
        from mmaction.registry import MODELS
        MODELS.build(dict(type='DRN'))
    """)
    assert proc.returncode != 0
    assert 'DRN cannot be built' in proc.stdout
    assert 'issue 2714' in proc.stdout
