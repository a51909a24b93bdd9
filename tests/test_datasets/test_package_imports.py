# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``import mmadaptformer`` loads the registered datasets only, and the
datasets do not import the test helpers."""
import json

from helpers import run_fresh_python

PREPARATION = ('ssv2', 'hmdb51', 'food101', 'cifar100', 'svhn',
               'synthetic_ssv2')

# One fresh process: the package's modules after each import.
CODE = '''
import json, sys
def ours():
    return sorted(m for m in sys.modules if m.startswith('mmadaptformer'))
import mmadaptformer
from mmaction.registry import DATASETS
assert DATASETS.get('CheckedVideoDataset')
from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS
assert MMPRETRAIN_DATASETS.get('CheckedImageDataset')
first = ours()
import mmadaptformer.datasets.synthetic_ssv2
print(json.dumps([first, ours()]))
'''


def test_import_loads_no_data_preparation_code():
    proc = run_fresh_python(CODE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    package, with_synthetic = map(set, json.loads(out.splitlines()[-1]))
    assert 'mmadaptformer.datasets.checked_video_dataset' in package
    assert not {f'mmadaptformer.datasets.{m}' for m in PREPARATION} & package
    # The synthetic data writes its videos without the test helpers.
    assert 'mmadaptformer.datasets.synthetic_ssv2' in with_synthetic
    assert not {
        m
        for m in with_synthetic if m.startswith('mmadaptformer.testing')
    }
