# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmaction2's and mmpretrain's models stay importable next to
transformers 5, whose API their multimodal models cannot import with (the
borrowed GPU machine has transformers 5.17); imports in fresh processes
(``helpers.run_fresh_python``)."""
import textwrap
from functools import partial

from helpers import run_fresh_python

from mmadaptformer.utils.transformers_compat import \
    breaking_transformers_version

_python = partial(run_fresh_python, timeout=180, separate_stderr=False)


def _transformers(root, version):
    """A stand-in ``transformers`` distribution of ``version`` in ``root``
    (metadata and package); like transformers 5, its ``modeling_utils``
    has ``PreTrainedModel`` but not ``apply_chunking_to_forward``, so
    mmaction2's VindLU fails to import with it."""
    package = root / 'transformers'
    package.mkdir()
    (package / '__init__.py').write_text(f'__version__ = {version!r}\n')
    (package /
     'modeling_utils.py').write_text('class PreTrainedModel:\n    pass\n')
    info = root / f'transformers-{version}.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        textwrap.dedent(f"""\
            Metadata-Version: 2.1
            Name: transformers
            Version: {version}
            """))
    return {'PYTHONPATH': str(root)}


def test_breaking_version_read_from_the_metadata(tmp_path, monkeypatch):
    """Read from the installed distribution's metadata, without importing
    transformers; the newest folder on sys.path wins."""
    for version, expected in (('4.57.1', None), ('5.0.0', '5.0.0'),
                              ('5.17.0', '5.17.0')):
        root = tmp_path / version
        root.mkdir()
        _transformers(root, version)
        monkeypatch.syspath_prepend(str(root))
        assert breaking_transformers_version() == expected, version


def test_models_import_next_to_transformers_5(tmp_path):
    proc = _python(
        """
        import mmadaptformer
        import mmaction.models, mmpretrain.models
        import mmaction.utils.dependency as a
        from mmaction.registry import MODELS
        assert not a.WITH_MULTIMODAL
        from mmadaptformer.utils.transformers_compat import (
            breaking_transformers_version)
        print('BREAKING', breaking_transformers_version())
        assert 'Recognizer3D' in MODELS.module_dict
        try:
            MODELS.build(dict(type='VindLUVQA'))
        except ImportError as e:
            print('REFUSED', e)
        """,
        env=_transformers(tmp_path, '5.17.0'))
    assert proc.returncode == 0, proc.stdout[-3000:]
    # The toolbox's own placeholder: building a multimodal model fails.
    assert 'REFUSED' in proc.stdout and 'multi-modal' in proc.stdout
    assert 'BREAKING 5.17.0' in proc.stdout
