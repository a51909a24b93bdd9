# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``AtomicDumpResults`` is registered by ``import mmadaptformer``.

It was registered only once ``mmadaptformer.utils.atomic_dump`` was
imported, which ``tools/test.py`` does: code of the user's own that imported
the package (or a config's ``custom_imports = dict(imports=
['mmadaptformer'])``) and built a ``--dump``-style evaluator, ``type=
'AtomicDumpResults'``, got MMEngine's ``KeyError: 'AtomicDumpResults is
not in the mmengine::metric registry'``. Each check runs in a fresh
process, where nothing else has imported that module.
"""
import pickle

from helpers import (TINY_IMAGE_CONFIG, image_data_cfg, run_fresh_python,
                     write_config)

_BUILD = '''
import mmadaptformer  # noqa: F401
from mmengine.registry import METRICS, DefaultScope
for scope in ('mmengine', 'mmaction', 'mmpretrain'):
    with DefaultScope.overwrite_default_scope(scope):
        metric = METRICS.build(
            dict(type='AtomicDumpResults', out_file_path='p.pkl'))
    print(scope, type(metric).__module__, type(metric).__name__)
'''


def test_import_mmadaptformer_registers_it_in_every_scope(tmp_path):
    proc = run_fresh_python(_BUILD, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    built = 'mmadaptformer.utils.atomic_dump AtomicDumpResults'
    assert proc.stdout.splitlines()[-3:] == [
        f'{scope} {built}' for scope in ('mmengine', 'mmaction', 'mmpretrain')
    ], proc.stdout


_TEST = '''
import sys
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile(sys.argv[1])
cfg.work_dir = sys.argv[2]
Runner.from_cfg(cfg).test()
'''


def test_a_config_runner_test_loop_dumps_through_it(tmp_path, tiny_image_data):
    """The config imports the package as the recipes do (``custom_imports``)
    and names the metric; the Runner's test loop builds it and writes the
    predictions."""
    out = tmp_path / 'preds.pkl'
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "test_evaluator = [dict(type='Accuracy'), "
        f"dict(type='AtomicDumpResults', out_file_path={str(out)!r})]\n")
    proc = run_fresh_python(
        _TEST, config, tmp_path / 'work', cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    # One prediction per test image, as MMEngine's DumpResults writes them.
    assert predictions and all('pred_label' in p for p in predictions)
