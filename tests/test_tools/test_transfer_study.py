# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The main job, shortened: the CPU transfer study must show AdaptFormer
beating the linear probe with few trainable parameters."""
import json
import os.path as osp
import subprocess
import sys

from helpers import REPO_ROOT, TOOLS


def test_quick_transfer_study_adaptformer_beats_linear_probe(tmp_path):
    work, data = tmp_path / 'work', tmp_path / 'data'
    cmd = [
        sys.executable,
        osp.join(TOOLS, 'demo', 'transfer_study.py'), '--quick', '--seed',
        '0', '--work-dir',
        str(work), '--data-root',
        str(data), '--port', '29571'
    ]
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:]
    # Task data went through the package's SSv2 tool, in SSv2's format.
    for task in ('direction', 'appearance'):
        ann = data / task / 'annotations'
        assert (ann / 'something-something-v2-labels.json').is_file()
        assert (data / task / 'sthv2_train_list_videos.txt').is_file()
    assert 'validation top-1 on direction 100.0%' in proc.stdout

    results = {
        r['method']: r
        for r in json.load(open(work / 'seed0' / 'results.json'))
    }
    adaptformer = results['AdaptFormer']
    probe = results['Linear probe']
    full = results['Full fine-tune']
    # With fixed seeds: 98.4 vs 82.8 top-1 measured on the development
    # machine (the full study: 16-18 points over 3 seeds); require a clear
    # margin.
    assert adaptformer['top1'] >= probe['top1'] + 8.0, results
    assert adaptformer['trainable'] < 0.1 * full['trainable']
    assert full['trainable'] == full['total']
    assert adaptformer['checkpoint_mb'] < 0.2 * full['checkpoint_mb']
    assert all(len(r['val_curve']) == 20 for r in results.values())
    assert (work / 'seed0' / 'val_accuracy.png').stat().st_size > 10_000
    assert 'AdaptFormer' in proc.stdout and 'top-1 (%)' in proc.stdout
