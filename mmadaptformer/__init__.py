# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdaptFormer for MMAction2 and MMPretrain (arXiv 2205.13535).

Importing this package (directly or through a config's
``custom_imports = dict(imports=['mmadaptformer'])``):

* checks that numpy, torch and the installed OpenMMLab stack are in the
  supported ranges;
* applies the upstream fixes listed in
  :func:`mmadaptformer.utils.upstream.apply_upstream_fixes` (mmaction2's
  missing DRN folder; every checkpoint source loads with
  ``weights_only=True`` and an allow-list for MMEngine's training state);
* registers the ``'atomic_local'`` MMEngine file backend that
  :class:`~mmadaptformer.engine.AtomicCheckpointHook` writes checkpoints
  with (see :mod:`mmadaptformer.utils.atomic_save`; nothing is patched);
* registers this package's models and hooks in the mmaction and mmpretrain
  registries, and its ``AtomicDumpResults`` metric in MMEngine's (so a
  test evaluator of ``type='AtomicDumpResults'`` builds in any scope);
* when decord was imported first, checks that OpenCV still decodes PNG
  images, and logs a WARNING naming the cause when it does not (decord
  0.6 imported before cv2 breaks that for the whole process; see
  :mod:`mmadaptformer.utils.png_decoding`). Nothing is changed.
"""
from mmengine.utils import digit_version

from .version import __version__, version_info

# (package, import name, minimum inclusive, maximum exclusive, install hint)
_SUPPORTED = (
    # The checkpoint loader's numpy guards use numpy 2's module layout
    # (``numpy._core``); opencv-python 5 needs numpy >= 2 as well.
    ('numpy', 'numpy', '2.0.0', '3.0.0', 'pip install "numpy>=2,<3"'),
    ('torch', 'torch', '2.6.0', '3.0.0',
     'pip install torch==2.14.0 torchvision==0.29.2 (or keep your own CUDA '
     'build of torch >= 2.6)'),
    ('mmengine', 'mmengine', '0.10.0', '1.0.0',
     'pip install mmengine==0.10.7'),
    ('mmcv', 'mmcv', '2.0.0', '2.2.0',
     'pip install mmcv-lite==2.1.0 (or a full mmcv 2.1.x built for your CUDA; '
     'mmaction2 1.2.0 requires mmcv < 2.2.0)'),
    ('mmaction2', 'mmaction', '1.2.0', '1.3.0',
     'pip install mmaction2==1.2.0'),
    ('mmpretrain', 'mmpretrain', '1.2.0', '1.3.0',
     'pip install mmpretrain==1.2.0'),
)


def _check_versions() -> None:
    import importlib
    import importlib.metadata as metadata
    import importlib.util
    for dist, module, low, high, hint in _SUPPORTED:
        try:
            if module == 'mmaction':
                # Reading the version must not import mmaction.models.
                version = metadata.version(dist)
            else:
                version = importlib.import_module(module).__version__
        except ImportError as e:  # PackageNotFoundError included
            if (not isinstance(e, metadata.PackageNotFoundError)
                    and importlib.util.find_spec(module) is not None):
                # The package is there, but something it imports is not:
                # saying "not installed" would send the user the wrong way.
                raise ImportError(
                    f'mmadaptformer needs {dist} >= {low}, < {high}; it is '
                    f'installed, but `import {module}` failed: {e}. Install '
                    f'what that names (`pip check` lists what {dist}\'s '
                    'requirements lack)') from e
            raise ImportError(
                f'mmadaptformer needs {dist} >= {low}, < {high}, which is not '
                f'installed. Install it with: {hint}') from e
        parsed = digit_version(version.split('+')[0])
        if not digit_version(low) <= parsed < digit_version(high):
            raise ImportError(
                f'mmadaptformer supports {dist} >= {low}, < {high}, but '
                f'{dist}=={version} is installed. Install a supported '
                f'version with: {hint}')


_check_versions()

# Before anything imports ``mmaction.models`` or loads a checkpoint: every
# change this package makes upstream, listed in one docstring.
from .utils import apply_upstream_fixes  # noqa: E402

apply_upstream_fixes()

from . import engine, models  # noqa: E402,F401  (registers modules)
from .utils.png_decoding import warn_if_png_decoding_broken  # noqa: E402

warn_if_png_decoding_broken()

__all__ = ['__version__', 'version_info']
