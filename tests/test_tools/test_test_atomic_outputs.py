# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/test.py --dump`` / ``--out`` (predictions or metrics) replace
their file atomically: a real test run whose write fails (the kernel's
"File too large", RLIMIT_FSIZE) leaves the previous file as it was."""
import json
import os
import pickle

import pytest
from helpers import (TINY_VIDEO_CONFIG, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)

# Imported by the test config: after the last test batch (before the
# predictions are dumped) or after the test (before the metrics are
# written), MMADAPTFORMER_TEST_FSIZE=LIMIT:WHEN stops files of this process
# from growing past LIMIT bytes; Python ignores SIGXFSZ, so the write that
# crosses it fails with EFBIG, as on a full disk.
FSIZE_PROBE = '''
import os
import resource

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def _limit(when):
    spec = os.environ.get('MMADAPTFORMER_TEST_FSIZE', '')
    if spec.endswith(':' + when):
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (int(spec.split(':')[0]), hard))


@HOOKS.register_module()
class FileSizeLimitHook(Hook):
    priority = 'LOWEST'

    def after_test_iter(self, runner, batch_idx, data_batch, outputs):
        if batch_idx == len(runner.test_dataloader) - 1:
            _limit('dump')

    def after_test(self, runner):
        _limit('metrics')
'''


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith('.'))


@pytest.fixture(scope='module')
def probe_run(tmp_path_factory):
    from mmadaptformer.testing import make_moving_square_dataset
    root = tmp_path_factory.mktemp('atomic_outputs')
    data = make_moving_square_dataset(str(root / 'data'), num_per_class=2)
    save_stock_video_checkpoint(str(root / 'ckpt.pth'))
    (root / 'fsize_probe.py').write_text(FSIZE_PROBE)
    body = video_data_cfg(data) + (
        "custom_imports = dict(imports=['mmadaptformer', 'fsize_probe'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='FileSizeLimitHook')]\n")
    cfg = write_config(root / 'cfg.py', TINY_VIDEO_CONFIG, body)
    env = dict(
        PYTHONPATH=os.pathsep.join(
            [str(root)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    return root, cfg, env


def _test(probe_run, out_args, limit=''):
    root, cfg, env = probe_run
    return run_tool(
        ['test.py', cfg, root / 'ckpt.pth', '--work-dir', root / 'work'] +
        out_args,
        cwd=root,
        env=dict(env, MMADAPTFORMER_TEST_FSIZE=limit),
        check=not limit,
        # The tool server sends the output to a file, which the limit
        # would cut; a fresh process writes to a pipe.
        fresh=bool(limit))


def test_failed_prediction_dump_keeps_the_previous_file(probe_run):
    root = probe_run[0]
    out = root / 'outs' / 'preds.pkl'
    # --out (predictions) and --dump both write through AtomicDumpResults.
    _test(probe_run, ['--out', out, '--dump', root / 'outs' / 'dump.pkl'])
    with open(root / 'outs' / 'dump.pkl', 'rb') as f:
        assert len(pickle.load(f)) == 4
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 4 and preds[0]['pred_score'].shape == (2, )
    assert _leftovers(out.parent) == []
    before = out.read_bytes()
    assert len(before) > 1024

    proc = _test(probe_run, ['--dump', out], limit='1024:dump')
    assert proc.returncode == 1, proc.stdout[-4000:]
    # MMEngine's DumpResults had truncated it to 1024 bytes.
    assert out.read_bytes() == before
    assert (f'AtomicWriteError: [Errno 27] Could not write {out}: File too '
            'large after 1024 of ') in proc.stdout, proc.stdout[-4000:]
    assert _leftovers(out.parent) == []


def test_failed_metrics_write_keeps_the_previous_file(probe_run):
    root = probe_run[0]
    out = root / 'outs' / 'metrics.json'
    _test(probe_run, ['--out', out, '--out-item', 'metrics'])
    metrics = json.loads(out.read_text())
    assert set(metrics) == {'acc/top1', 'acc/top5', 'acc/mean1'}
    before = out.read_bytes()

    proc = _test(
        probe_run, ['--out', out, '--out-item', 'metrics'], limit='16:metrics')
    assert proc.returncode == 1, proc.stdout[-4000:]
    # mmengine.dump had truncated it to 16 bytes.
    assert out.read_bytes() == before
    assert f'Could not write {out}: File too large after 16 of ' in \
        proc.stdout, proc.stdout[-4000:]
    assert _leftovers(out.parent) == []


def test_a_test_that_fails_leaves_the_previous_dump(probe_run):
    """The config check ran every metric on two made-up samples, and
    DumpResults wrote them over --dump before the test started: a run that
    then failed left them there in place of the previous predictions."""
    root = probe_run[0]
    out = root / 'outs' / 'kept.pkl'
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(b'previous predictions')
    bad = root / 'bad.pth'
    bad.write_bytes(b'garbage')
    proc = run_tool([
        'test.py', probe_run[1], bad, '--work-dir', root / 'work', '--dump',
        out
    ],
                    cwd=root,
                    env=probe_run[2],
                    check=False)
    assert proc.returncode == 1
    assert 'CheckpointLoadError: Checkpoint file' in proc.stdout
    assert out.read_bytes() == b'previous predictions'


def test_atomic_dump_and_metric_write_whole_files(tmp_path):
    from mmadaptformer.utils.atomic_dump import AtomicDumpResults, atomic_dump
    from mmadaptformer.utils.atomic_file import AtomicWriteError
    target = tmp_path / 'sub' / 'metrics.yaml'
    atomic_dump({'acc/top1': 0.5}, target)
    assert target.read_text() == 'acc/top1: 0.5\n'
    # A value with no JSON form fails before anything is written.
    target = tmp_path / 'sub' / 'metrics.json'
    target.write_text('{"old": 1}')
    with pytest.raises(TypeError, match='unsupported for json dump'):
        atomic_dump({'bad': object()}, target)
    assert target.read_text() == '{"old": 1}'
    assert _leftovers(tmp_path / 'sub') == []

    metric = AtomicDumpResults(out_file_path=str(tmp_path / 'p.pkl'))
    assert metric.compute_metrics([{'pred_label': 1}]) == {}
    with open(tmp_path / 'p.pkl', 'rb') as f:
        assert pickle.load(f) == [{'pred_label': 1}]
    # A folder where the file should go: named, nothing replaced.
    (tmp_path / 'dir.pkl').mkdir()
    with pytest.raises(AtomicWriteError, match='dir.pkl'):
        atomic_dump([1], tmp_path / 'dir.pkl')
    assert _leftovers(tmp_path) == []


def test_metrics_yaml_holds_plain_numbers(probe_run):
    """mmaction2's AccMetric gives np.float64 values, which yaml.dump wrote
    as ``!!python/object/apply`` tags around their bytes: the metrics file
    was unreadable to ``yaml.safe_load`` and other YAML readers."""
    yaml = pytest.importorskip('yaml')
    root = probe_run[0]
    out = root / 'outs' / 'metrics.yaml'
    _test(probe_run, ['--out', out, '--out-item', 'metrics'])
    metrics = yaml.safe_load(out.read_text())
    assert set(metrics) == {'acc/top1', 'acc/top5', 'acc/mean1'}
    assert all(type(v) is float for v in metrics.values()), metrics


def test_plain_values_of_nested_numpy_and_tensors():
    from collections import OrderedDict

    import numpy as np
    import torch

    from mmadaptformer.utils.atomic_dump import plain_values
    nested = OrderedDict(
        a=np.float64(0.5),
        b=(np.int64(2), np.arange(2)),
        c=torch.eye(2),
        d='x')
    plain = plain_values(nested)
    assert plain == {
        'a': 0.5,
        'b': [2, [0, 1]],
        'c': [[1., 0.], [0., 1.]],
        'd': 'x'
    }
    assert type(plain) is dict and type(plain['a']) is float
