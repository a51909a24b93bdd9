# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``import mmadaptformer`` changes upstream libraries in one documented
place, and only as documented."""
import importlib.util
import textwrap

from helpers import run_fresh_python

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
}
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

_SNAPSHOT = textwrap.dedent('''
    import sys, types
    import torch, torch.hub, torch.serialization
    # torch._dynamo wraps torch.manual_seed when first imported; import it
    # first so that torch's own lazy import is not counted as ours.
    import torch._dynamo
    import mmengine.fileio, mmengine.hooks, mmengine.optim, mmengine.runner
    import mmengine.infer
    import mmaction.registry, mmpretrain.registry
    import mmaction.utils.dependency, mmpretrain.utils.dependency
    if {import_models}:
        import mmpretrain.models.backbones.revvit
    PACKAGES = ('mmengine', 'mmaction', 'mmpretrain', 'mmcv')
    TORCH = ('torch', 'torch.serialization', 'torch.hub',
             'torch._weights_only_unpickler')

    def snapshot():
        out = {}
        for name, module in list(sys.modules.items()):
            if module is None or not (name.split('.')[0] in PACKAGES
                                      or name in TORCH):
                continue
            for key, value in list(vars(module).items()):
                if isinstance(value, types.ModuleType):
                    continue
                out[f'{name}.{key}'] = id(value)
                if isinstance(value, type) and value.__module__ == name:
                    for attr, member in list(vars(value).items()):
                        out[f'{name}.{key}.{attr}'] = id(member)
        return out

    before = snapshot()
    import mmadaptformer
    after = snapshot()
    modules = {key.rsplit('.', 1)[0] for key in before}
    for key in sorted(after):
        if key in before and after[key] != before[key]:
            print('CHANGED', key)
        elif key not in before and key.rsplit('.', 1)[0] in modules \\
                and not key.rsplit('.', 1)[1].startswith('__'):
            print('ADDED', key)
''')


def test_import_changes_only_what_apply_upstream_fixes_documents():
    import_models = breaking_transformers_version() is None
    proc = run_fresh_python(
        _SNAPSHOT.replace('{import_models}', str(import_models)), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [
        line for line in proc.stdout.splitlines()
        if line.startswith(('CHANGED', 'ADDED'))
    ]
    changed = {line.split()[1] for line in lines if line.startswith('CHANGED')}
    added = [line.split()[1] for line in lines if line.startswith('ADDED')]
    assert changed == EXPECTED, sorted(changed ^ EXPECTED)
    assert added == [], added


def test_the_docstring_lists_each_change():
    doc = apply_upstream_fixes.__doc__
    for what in ('drn', 'allow-list', 'register_scheme',
                 'CheckpointLoader.load_checkpoint', 'build_dataloader',
                 'Config.fromstring', '_load_checkpoint_to_model',
                 'WITH_MULTIMODAL', 'seed_cuda'):
        assert what in doc, what
    assert len(UPSTREAM_CHANGES) == 9
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
