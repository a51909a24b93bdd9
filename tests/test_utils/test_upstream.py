# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``import mmadaptformer`` changes upstream libraries in one documented
place, and only as documented: attributes replaced, dicts, lists and sets
changed in place, registry entries added (``tests/upstream_snapshot.py``)."""
import importlib.util
import os
import os.path as osp
import textwrap
from typing import List

import numpy as np
import scipy
from tool_runners import run_fresh_python

from mmadaptformer.utils import UPSTREAM_CHANGES, apply_upstream_fixes
from mmadaptformer.utils.transformers_compat import \
    breaking_transformers_version

#: Every upstream attribute whose value ``import mmadaptformer`` may change.
EXPECTED = {
    # A safe loader for each scheme (registered through the public API,
    # which re-sorts the table into a new dict).
    'mmengine.runner.checkpoint.CheckpointLoader._schemes',
    # Any other loader runs with weights_only forced on.
    'mmengine.runner.checkpoint.CheckpointLoader.load_checkpoint',
    # The loader functions, called by name, are the safe ones.
    'mmengine.runner.checkpoint.load_from_local',
    'mmengine.runner.checkpoint.load_from_http',
    'mmengine.runner.checkpoint.load_from_torchvision',
    'mmengine.runner.checkpoint.load_from_openmmlab',
    'mmengine.runner.checkpoint.load_from_mmcls',
    # ... and those that call torch.load themselves, forced.
    'mmengine.runner.checkpoint.load_from_pavi',
    'mmengine.runner.checkpoint.load_from_ceph',
    # PyTorch's hub loader (weights_only=False by default) is the safe one.
    'torch.hub.load_state_dict_from_url',
    'mmengine.runner.checkpoint.load_url',
    'mmengine.utils.dl_utils.load_url',
    'mmengine.utils.dl_utils.hub.load_url',
    # torch.serialization.add_safe_globals (public) fills this set.
    'torch._weights_only_unpickler._marked_safe_globals_set',
    # A scoped collate_fn is resolved in its scope.
    'mmengine.runner.runner.Runner.build_dataloader',
    'mmengine.runner._flexible_runner.FlexibleRunner.build_dataloader',
    # Config text from a checkpoint runs only if it is data.
    'mmengine.config.config.Config.fromstring',
    'mmengine.runner.runner.Runner.resume',
    'mmengine.runner._flexible_runner.FlexibleRunner.resume',
    'mmengine.infer.infer.BaseInferencer.__init__',
    # An adapter-only checkpoint is refused by a model without its adapters:
    # the function and the two modules that import it by name.
    'mmengine.runner.checkpoint._load_checkpoint_to_model',
    'mmengine.runner.runner._load_checkpoint_to_model',
    'mmengine.infer.infer._load_checkpoint_to_model',
    # A checkpoint given to the APIs as the config is named.
    'mmengine.config.config.Config.fromfile',
    'mmpretrain.apis.model.ModelHub.get',
    # An mmpretrain inferencer names the image loading it ignores.
    'mmpretrain.apis.base.BaseInferencer.__init__',
    'mmpretrain.apis.base.BaseInferencer.__call__',
    # Its own, which does not call the base's.
    'mmpretrain.apis.feature_extractor.FeatureExtractor.__call__',
    # RandomErasing refuses a fill colour outside 0 to 255 when built.
    'mmaction.datasets.transforms.processing.RandomErasing.__init__',
    'mmpretrain.datasets.transforms.processing.RandomErasing.__init__',
}
if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
    # mmaction2's ColorJitter hue shift, which overflows under NumPy 2.
    EXPECTED.add(
        'mmaction.datasets.transforms.processing.ColorJitter.adjust_hue')
    # mmcv's adjust_hue (mmpretrain's ColorJitter), which does too.
    EXPECTED.update(f'{module}.adjust_hue'
                    for module in ('mmcv', 'mmcv.image',
                                   'mmcv.image.photometric'))
    # mmaction2's PoseCompact and MMCompact, which use the removed np.Inf.
    EXPECTED.update(f'mmaction.datasets.transforms.pose_transforms.{method}'
                    for method in ('PoseCompact.transform',
                                   'MMCompact._get_box'))
if np.lib.NumpyVersion(scipy.__version__) >= '1.14.0':
    # mmpretrain's relative position table resize, which calls the removed
    # interp2d: where it is defined, exported, and imported by name.
    EXPECTED.update(f'{module}.resize_relative_position_bias_table'
                    for module in ('mmpretrain.models.utils.embed',
                                   'mmpretrain.models.utils',
                                   'mmpretrain.models.backbones.beit',
                                   'mmpretrain.models.backbones.'
                                   'swin_transformer'))
if breaking_transformers_version() is None:
    # RevViT's seeds come from the seeded generator. (The snapshot imports
    # mmpretrain.models first only where it imports without our fix.)
    EXPECTED.add(
        'mmpretrain.models.backbones.revvit.RevTransformerEncoderLayer.'
        'seed_cuda')
else:
    # With transformers >= 5 (the borrowed GPU machine's), the multimodal
    # models are turned off; mmpretrain's are off already without
    # pycocotools.
    EXPECTED.add('mmaction.utils.dependency.WITH_MULTIMODAL')
    if importlib.util.find_spec('pycocotools') is not None:
        EXPECTED.add('mmpretrain.utils.dependency.WITH_MULTIMODAL')

#: Dicts, lists and sets of upstream that ``import mmadaptformer`` changes
#: in place (path: what), each a documented change or upstream's own doing.
EXPECTED_IN_PLACE = {
    # Our file backend, through the public ``register_backend`` (the
    # package's docstring).
    'mmengine.fileio.backends.registry_utils.backends': {"+['atomic_local']"},
    # mmaction2's ``models/backbones/uniformer.py`` creates MMEngine's
    # current logger when ``mmaction.models`` first imports, which ours does.
    'mmengine.logging.logger.MMLogger._instance_dict': {"+['mmengine']"},
    # register_scheme writes the old table before sorting it into a new one.
    'mmengine.runner.checkpoint.CheckpointLoader._schemes': {
        f'~[{prefix!r}]'
        for prefix in ('', 'http://', 'https://', 'mmcls://', 'modelzoo://',
                       'open-mmlab://', 'openmmlab://', 'torchvision://')
    },
    # The weights_only allow-list: exactly these, and numpy's numeric dtype
    # classes (added below).
    'torch._weights_only_unpickler._marked_safe_globals_set': {
        '+{mmengine.logging.history_buffer.HistoryBuffer}',
        *(f'+{{(mmadaptformer.utils.checkpoint_loading.{func}, '
          f"'{module}.{name}')}}"
          for func, name in (('_empty_bytes', 'bytes'),
                             ('_guarded_getattr', 'getattr'))
          for module in ('builtins', '__builtin__')),
        '+{(mmadaptformer.utils.numpy_globals._NumpyArrayName, '
        "'numpy.ndarray')}",
        "+{(mmadaptformer.utils.numpy_globals._numpy_dtype, 'numpy.dtype')}",
        *(f'+{{(mmadaptformer.utils.numpy_globals._numpy_reconstruct, '
          f"'numpy.{core}.multiarray._reconstruct')}}"
          for core in ('_core', 'core')),
        *(f"+{{(numpy._core.multiarray.scalar, 'numpy.{core}.multiarray."
          "scalar')}" for core in ('_core', 'core')),
        "+{(numpy.ndarray, 'numpy.ndarray\\n(state only; no pickle can name "
        "this)')}",
    },
}
EXPECTED_IN_PLACE['torch._weights_only_unpickler._marked_safe_globals_set'] \
    .update(f'+{{{cls.__module__}.{cls.__qualname__}}}'
            for cls in (getattr(np.dtypes, name) for name in dir(np.dtypes)
                        if name.endswith('DType'))
            if np.dtype(cls.type).kind in 'biufc')

_HOOKS = {
    'AdapterHook', 'AtomicCheckpointHook', 'CheckpointCheckHook',
    'ConfigCheckHook', 'DataHealthHook', 'EpochRandomnessHook',
    'NonFiniteLossHook', 'ResumeCheckHook', 'SyncNormStatsHook',
    'WorkDirCollectHook'
}
#: The entries our modules add to upstream registries (``scope::registry``:
#: names); upstream's own modules, imported through ours, add theirs.
EXPECTED_REGISTERED = {
    'mmaction::dataset': {'CheckedVideoDataset'},
    'mmaction::hook': _HOOKS | {'VideoVisualizationHook'},
    # DRN: the stand-in that names mmaction2's gap (UPSTREAM_CHANGES 1).
    'mmaction::model': {'AdaptFormer', 'BNLinearHead', 'DRN', 'VPT'},
    # The tools' --dump metric, registered by import mmadaptformer too.
    'mmengine::metric': {'AtomicDumpResults'},
    'mmengine::optim_wrapper': {'AdaptAmpOptimWrapper', 'CPUAmpOptimWrapper'},
    'mmengine::runner': {'ConfigCopyRunner'},
    'mmpretrain::dataset': {'CheckedImageDataset'},
    'mmpretrain::hook': _HOOKS | {'ImageVisualizationHook'},
    'mmpretrain::model':
    {'AdaptFormer', 'BNLinearClsHead', 'BNLinearHead', 'VPT'},
}

_SNAPSHOT = osp.join(
    osp.dirname(osp.dirname(__file__)), 'upstream_snapshot.py')


def upstream_changes_on_import(code: str = '') -> str:
    """The lines of ``tests/upstream_snapshot.py`` run in a fresh process;
    ``code`` runs after ``import mmadaptformer``."""
    with open(_SNAPSHOT) as f:
        script = f.read()
    import_models = breaking_transformers_version() is None
    proc = run_fresh_python(
        script, import_models, *([code] if code else []), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def undocumented(stdout: str) -> List[str]:
    """Each change in ``stdout`` that the tables above do not list, and
    each listed change that did not happen, as a line naming it."""
    out, in_place, registered = [], {}, {}
    for line in stdout.splitlines():
        kind, *fields = line.split('\t')
        if kind == 'CHANGED' and fields[0] not in EXPECTED:
            out.append(f'{fields[0]} now holds another object')
        elif kind == 'ADDED':
            out.append(f'{fields[0]} was added')
        elif kind == 'MUTATED':
            path, what, detail = fields
            in_place.setdefault(path, {})[what] = detail
        elif kind == 'REGISTERED':
            name, entry, callers = fields
            registered.setdefault(name, {})[entry] = callers
        elif kind == 'REGISTRY':
            out.append(f'registry {fields[0]}: {fields[1]} {fields[2]}')
    changed = {
        line.split('\t')[1]
        for line in stdout.splitlines() if line.startswith('CHANGED')
    }
    out += [f'{path} was expected to change' for path in EXPECTED - changed]
    for path in sorted(in_place.keys() | EXPECTED_IN_PLACE.keys()):
        found = in_place.get(path, {})
        expected = EXPECTED_IN_PLACE.get(path, set())
        out += [
            f'{path} changed in place: {what} {found[what]}'.rstrip()
            for what in sorted(found.keys() - expected)
        ]
        out += [
            f'{path} was expected to change in place: {what}'
            for what in sorted(expected - found.keys())
        ]
    for name in sorted(registered.keys() | EXPECTED_REGISTERED.keys()):
        found = registered.get(name, {})
        expected = EXPECTED_REGISTERED.get(name, set())
        out += [
            f'registry {name} gained {entry!r}, registered by '
            f'{found[entry]}' for entry in sorted(found)
            if entry not in expected or not all(
                caller.startswith('mmadaptformer.')
                for caller in found[entry].split(', '))
        ]
        out += [
            f'registry {name} was expected to gain {entry!r}'
            for entry in sorted(expected - found.keys())
        ]
    return out


def test_import_changes_only_what_apply_upstream_fixes_documents():
    assert undocumented(upstream_changes_on_import()) == []


def test_an_undocumented_change_in_place_is_named():
    """Changes made after ``import mmadaptformer``, in its process, as an
    undocumented change of ours would be: each is named, with what
    changed."""
    code = textwrap.dedent('''
        import os
        import mmengine.config.utils as config_utils
        import torch._weights_only_unpickler as unpickler
        from mmaction.registry import MODELS
        from mmengine.registry import HOOKS
        from mmengine.hooks import CheckpointHook
        from mmengine.runner import CheckpointLoader
        config_utils.MODULE2PACKAGE['mmadaptformer'] = 'mmadaptformer'
        CheckpointHook._default_greater_keys.append('top1')
        CheckpointLoader._schemes['s4://'] = print
        unpickler._marked_safe_globals_set.add(os.system)
        MODELS.register_module(name='ResNet', module=object, force=True)
        MODELS.register_module(name='Extra', module=object)
        HOOKS.register_module(name='CheckpointHook', module=object, force=True)
    ''')
    assert undocumented(upstream_changes_on_import(code)) == [
        "registry mmengine::hook: ~'CheckpointHook' "
        'mmengine.hooks.checkpoint_hook.CheckpointHook -> builtins.object by '
        '?',
        'mmengine.config.utils.MODULE2PACKAGE changed in place: '
        "+['mmadaptformer'] 'mmadaptformer'",
        'mmengine.hooks.checkpoint_hook.CheckpointHook._default_greater_keys'
        " changed in place: +[10] 'top1'",
        'mmengine.runner.checkpoint.CheckpointLoader._schemes changed in '
        "place: +['s4://'] builtins.print",
        'torch._weights_only_unpickler._marked_safe_globals_set changed in '
        f'place: +{{{os.system.__module__}.system}}',
        "registry mmaction::model gained 'Extra', registered by ?",
        # Replaces mmaction2's own, registered while ours imported.
        "registry mmaction::model gained 'ResNet', registered by "
        'mmaction.models.backbones.resnet, ?',
    ]


def test_the_docstring_lists_each_change():
    doc = apply_upstream_fixes.__doc__
    for what in ('drn', 'allow-list', 'register_scheme',
                 'CheckpointLoader.load_checkpoint', 'build_dataloader',
                 'Config.fromstring', '_load_checkpoint_to_model',
                 'WITH_MULTIMODAL', 'seed_cuda', 'Config.fromfile',
                 'ModelHub.get', 'load_from_http', 'load_url',
                 'load_from_ceph', 'load_state_dict_from_url',
                 'BaseInferencer.__init__', 'FeatureExtractor.__call__',
                 'config_read_lock', 'ColorJitter.adjust_hue',
                 'mmcv.adjust_hue', 'PoseCompact.transform',
                 'MMCompact._get_box', 'RandomErasing.__init__',
                 'resize_relative_position_bias_table'):
        assert what in doc, what
    assert len(UPSTREAM_CHANGES) == 19
    # Idempotent: a second call changes nothing.
    from mmengine.runner import CheckpointLoader
    schemes = CheckpointLoader._schemes
    import mmengine.runner.checkpoint as checkpoint_module
    load_to_model = checkpoint_module._load_checkpoint_to_model
    apply_upstream_fixes()
    assert CheckpointLoader._schemes is schemes
    assert checkpoint_module._load_checkpoint_to_model is load_to_model
    from mmadaptformer.utils.adapter_only_fit import guard_checkpoint_to_model
    guard_checkpoint_to_model()
    assert checkpoint_module._load_checkpoint_to_model is load_to_model
