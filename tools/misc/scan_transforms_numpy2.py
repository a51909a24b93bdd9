# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run every transform of mmaction2 and mmpretrain on real tiny data.

mmaction2 1.2.0, mmpretrain 1.2.0 and mmcv 2.1.0 were written for NumPy 1;
the pinned stack runs NumPy 2. This scan builds every class registered in
their ``TRANSFORMS`` (and MMEngine's, which mmcv fills), once with its
defaults and once with each set of arguments that a model-zoo config of
the installed toolboxes gives it (read with ``Config.fromfile`` from their
``.mim/configs``), and runs each on the inputs its toolbox's pipelines
give it (``transform_scan_inputs.py``: a uint8 image, small and large,
and as PIL's; decoded uint8 frames, small and large; a decord or OpenCV
reader of a real mp4; a folder of JPEG frames; 2D and NTU 3D keypoints),
in the toolbox's default scope, each under many seeds. It prints the
failures grouped by their error and writes one record per run, with a
digest of the outputs, to ``--out``.

Run it twice, under NumPy 2 and under NumPy 1 (a virtual environment
with ``--system-site-packages`` and ``numpy<2``), both with
``--no-fixes``, then ``--compare`` the two records: a run that fails
under NumPy 2 only is a NumPy 2 breakage, one whose outputs differ is a
silent change, one that fails under both is a bad argument or needs data
the scan does not make. Without ``--no-fixes`` it imports
``mmadaptformer`` first, so it shows what the package's upstream fixes
leave.

Example::

    python tools/misc/scan_transforms_numpy2.py --no-fixes --out np2.json
    np1/bin/python tools/misc/scan_transforms_numpy2.py --no-fixes \\
        --out np1.json
    python tools/misc/scan_transforms_numpy2.py --compare np1.json np2.json
"""
import argparse
import copy
import glob
import hashlib
import json
import os
import os.path as osp
import random
import re
import tempfile
import traceback
from collections import Counter, defaultdict

from transform_scan_inputs import input_kinds

#: Arguments for the steps that build with no default (their zoo use is
#: inside ``RandAugment``), each applied always (``prob=1.``), so that each
#: seed draws its own sign and magnitude.
EXTRA_ARGUMENT_SETS = {
    'mmpretrain.Shear': [dict(magnitude=0.3, prob=1.)],
    'mmpretrain.Translate': [dict(magnitude=0.45, prob=1.)],
    'mmpretrain.Rotate': [dict(angle=30., prob=1.)],
    'mmpretrain.Solarize': [dict(thr=128, prob=1.)],
    'mmpretrain.SolarizeAdd': [dict(magnitude=110, prob=1.)],
    'mmpretrain.Posterize': [dict(bits=4, prob=1.)],
    'mmpretrain.Contrast': [dict(magnitude=0.9, prob=1.)],
    'mmpretrain.ColorTransform': [dict(magnitude=0.9, prob=1.)],
    'mmpretrain.Brightness': [dict(magnitude=0.9, prob=1.)],
    'mmpretrain.Sharpness': [dict(magnitude=0.9, prob=1.)],
    'mmpretrain.Cutout': [dict(shape=8, prob=1.)],
    'mmpretrain.GaussianBlur': [dict(radius=1.0, prob=1.)],
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=20)
    parser.add_argument(
        '--only',
        default='',
        help='scan only the steps whose scope.name this regex matches '
        '(e.g. "mmaction\\.PoseCompact$")')
    parser.add_argument('--out', help='write the records (JSON) here')
    parser.add_argument(
        '--no-fixes',
        action='store_true',
        help='do not import mmadaptformer (the toolboxes as installed)')
    parser.add_argument(
        '--compare',
        nargs=2,
        metavar=('NUMPY1_JSON', 'NUMPY2_JSON'),
        help='compare two records instead of scanning')
    return parser.parse_args()


def _registries():
    """``{scope: TRANSFORMS}`` with every transform module imported."""
    import mmaction.datasets.transforms  # noqa: F401
    import mmcv.transforms  # noqa: F401
    import mmpretrain.datasets.transforms  # noqa: F401
    from mmaction.registry import TRANSFORMS as ACTION
    from mmengine.registry import TRANSFORMS as ENGINE
    from mmpretrain.registry import TRANSFORMS as PRETRAIN
    return dict(mmaction=ACTION, mmpretrain=PRETRAIN, mmengine=ENGINE)


def _resolve(registries, scope, name):
    """``(label, class)`` that ``name`` means in ``scope``'s pipelines
    (the label: the registry's scope and the name), else ``(None, None)``.
    """
    if '.' in name:
        scope, name = name.split('.', 1)
    for registry in (registries.get(scope), registries['mmengine']):
        if registry is not None and name in registry.module_dict:
            return f'{registry.scope}.{name}', registry.module_dict[name]
    return None, None


def _pipeline_steps(value, in_pipeline=False):
    """Yield the dicts with a ``type`` under a key naming a pipeline."""
    if isinstance(value, dict):
        if in_pipeline and isinstance(value.get('type'), str):
            yield value
        for key, item in value.items():
            yield from _pipeline_steps(
                item, in_pipeline or 'pipeline' in str(key)
                or key in ('transforms', 'policies'))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _pipeline_steps(item, in_pipeline)


def zoo_argument_sets(registries):
    """``{(scope, class name, args repr): (scope, step, config)}`` for each
    distinct step of the installed zoo configs' pipelines."""
    from mmengine.config import Config
    found, unreadable = {}, 0
    for scope in ('mmaction', 'mmpretrain'):
        root = osp.join(
            osp.dirname(__import__(scope).__file__), '.mim', 'configs')
        for path in sorted(glob.glob(f'{root}/**/*.py', recursive=True)):
            if f'{os.sep}_base_{os.sep}' in path:
                continue
            try:
                cfg = Config.fromfile(path).to_dict()
            except Exception:
                unreadable += 1
                continue
            for step in _pipeline_steps(cfg):
                # ``magnitude_key`` is RandAugment's, for its policies.
                step = {
                    k: v
                    for k, v in step.items()
                    if k not in ('_scope_', 'magnitude_key')
                }
                label, cls = _resolve(registries, scope, step['type'])
                if cls is None:
                    continue
                args = {k: v for k, v in step.items() if k != 'type'}
                key = (scope, label, repr(sorted(args.items())))
                found.setdefault(key, (scope, step, osp.relpath(path, root)))
    return found, unreadable


def digest(value, root=''):
    """A JSON-able digest of a transform's output, exact for arrays (paths
    under the data folder ``root`` start with ``<root>``, numbers are
    printed as Python's, not as NumPy 2's ``np.float64(...)``)."""
    import numpy as np
    if isinstance(value, dict):
        return {
            str(k): digest(v, root)
            for k, v in sorted(value.items(), key=str)
        }
    if isinstance(value, (list, tuple)):
        return [digest(item, root) for item in value]
    if isinstance(value, str):
        return value.replace(root, '<root>') if root else value
    if isinstance(value, (bool, type(None))):
        return value
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if type(value).__module__.startswith('torch') and hasattr(value, 'numpy'):
        value = value.detach().cpu().numpy()
    if type(value).__module__.startswith('PIL'):
        value = np.asarray(value)
    if isinstance(value, (np.ndarray, np.generic)):
        value = np.ascontiguousarray(value)
        data = hashlib.sha1(value.tobytes()).hexdigest()[:12] \
            if value.dtype != object else repr(value.tolist())[:80]
        return f'{value.dtype}{list(value.shape)}:{data}'
    return type(value).__name__


def _seed(seed):
    import numpy as np
    import torch
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)


def _error(error):
    """``'ERROR Type: message [file:line]'``, where it was raised."""
    where = traceback.extract_tb(error.__traceback__)[-1]
    return (f'ERROR {type(error).__name__}: {str(error)[:160]} '
            f'[{osp.basename(where.filename)}:{where.lineno}]')


def _failed(out):
    return isinstance(out, str) and out.startswith('ERROR')


def _copy(results):
    """A deep copy that shares the video reader (which does not copy)."""
    reader = results.get('video_reader')
    return copy.deepcopy(results, {id(reader): reader})


def _run(cls, args, results, seed, root='', scope='mmengine'):
    """One build and call on a copy of ``results``, in ``scope`` (where a
    wrapper builds its inner steps, as a config's ``default_scope``): an
    output digest, or the error (``'ERROR ...'``)."""
    from mmengine.registry import DefaultScope
    _seed(seed)
    with DefaultScope.overwrite_default_scope(scope):
        try:
            step = cls(**args)
        except Exception as error:
            return 'ERROR build ' + _error(error)[6:]
        try:
            out = step(_copy(results))
        except Exception as error:
            return _error(error)
    return digest(out, root)


def scan(seeds, fixes, only=''):
    import numpy as np
    if fixes:
        import mmadaptformer  # noqa: F401
    registries = _registries()
    jobs, unreadable = zoo_argument_sets(registries)
    zoo_sets = len(jobs)
    classes = {}
    for scope, registry in registries.items():
        for name, cls in registry.module_dict.items():
            classes.setdefault((scope, name), cls)
            jobs.setdefault((scope, f'{scope}.{name}', '[]'),
                            (scope, dict(type=name), 'defaults'))
            for args in EXTRA_ARGUMENT_SETS.get(f'{scope}.{name}', []):
                jobs.setdefault(
                    (scope, f'{scope}.{name}', repr(sorted(args.items()))),
                    (scope, dict(type=name, **args), 'extra'))
    records = []
    with tempfile.TemporaryDirectory() as root:
        kinds = input_kinds(root)
        for (scope, label, args_repr), (_, step,
                                        config) in sorted(jobs.items()):
            if not re.search(only, label):
                continue
            _, cls = _resolve(registries, scope, step['type'])
            args = {k: v for k, v in step.items() if k != 'type'}
            record = dict(
                scope=scope, cls=label, args=args_repr, config=config, runs={})
            built = _run(cls, args, {}, 0, root, scope)
            if str(built).startswith('ERROR build'):
                record['build'] = built
                records.append(record)
                continue
            # The kinds the step takes: all but those where seed 0 misses a
            # key (``compare`` sorts out the wrong kinds that fail
            # otherwise under both NumPy versions).
            for kind, results in kinds.items():
                first = _run(cls, args, results, 0, root, scope)
                if str(first).startswith('ERROR KeyError'):
                    record['runs'].setdefault('unusable', {})[kind] = first
                    continue
                record['runs'][kind] = [first] + [
                    _run(cls, args, results, seed, root, scope)
                    for seed in range(1, seeds)
                ]
            records.append(record)
    return dict(
        numpy=np.__version__,
        fixes=fixes,
        classes=len(classes),
        zoo_argument_sets=zoo_sets,
        unreadable_configs=unreadable,
        records=records)


def summarize(result):
    """Print what failed, grouped by the error's first words."""
    by_error = defaultdict(set)
    ran = unusable = 0
    for record in result['records']:
        if 'build' in record:
            by_error[record['build'][:120]].add(
                f"{record['cls']} {record['args'][:100]}")
            continue
        runs = {k: v for k, v in record['runs'].items() if k != 'unusable'}
        if not runs:
            unusable += 1
            error = sorted(record['runs']['unusable'].values())[0]
            by_error['no input fits: ' +
                     error[:90]].add(f"{record['cls']} {record['args'][:100]}")
            continue
        ran += 1
        # A kind no seed runs on is the wrong input for the step, unless
        # none runs: then the step's first error is reported once.
        fitting = {k: v for k, v in runs.items() if not all(map(_failed, v))}
        if not fitting:
            kind, outs = sorted(runs.items())[0]
            by_error[outs[0][:120]].add(
                f"{record['cls']} {record['args'][:100]} (every input)")
        for kind, outs in fitting.items():
            bad = [out for out in outs if _failed(out)]
            if bad:
                by_error[bad[0][:120]].add(
                    f"{record['cls']} {record['args'][:100]} ({kind}: "
                    f'{len(bad)}/{len(outs)} seeds)')
    print(f"NumPy {result['numpy']}, fixes={result['fixes']}: "
          f"{result['classes']} registered classes, "
          f"{result['zoo_argument_sets']} zoo argument sets "
          f"({result['unreadable_configs']} configs unreadable), "
          f"{len(result['records'])} builds; {ran} ran on some input, "
          f'{unusable} on none')
    for error, where in sorted(by_error.items()):
        print(f'\n{error}  ({len(where)})')
        for line in sorted(where)[:8]:
            print('   ', line)


def _build_outcome(before, record, what_runs):
    """What one build did under NumPy 1 (``before``) and 2 (``record``),
    from the outcomes ``what_runs`` of its runs on the inputs both took."""
    if 'build' in record or 'build' in before:
        return 'builds under NumPy 1 only' if 'build' in record and \
            'build' not in before else 'is not built (bad or no default ' \
            'arguments, a missing package)'
    for what in ('fails under NumPy 2 only', 'outputs differ',
                 'fails under NumPy 1 only'):
        if what in what_runs:
            return what
    ran = any(not _failed(out) for kind, outs in before['runs'].items()
              if kind != 'unusable' for out in outs)
    return 'same under both' if ran else \
        'fails on every input under both (needs data the scan does not make)'


def compare(numpy1, numpy2):
    """Print the runs whose outcome differs between the two records, and
    what each build did."""
    old = {(r['cls'], r['args']): r for r in numpy1['records']}
    counts, builds = Counter(), Counter()
    for record in numpy2['records']:
        before = old.get((record['cls'], record['args']))
        if before is None:
            continue
        what_runs = set()
        for kind, outs in record['runs'].items():
            if kind == 'unusable' or kind not in before['runs']:
                continue
            for seed, (a, b) in enumerate(zip(before['runs'][kind], outs)):
                if a == b:
                    counts['same'] += 1
                    continue
                what = (
                    'fails under NumPy 2 only' if _failed(b) and not _failed(a)
                    else 'fails under NumPy 1 only'
                    if _failed(a) and not _failed(b) else
                    'both fail, otherwise' if _failed(a) else 'outputs differ')
                counts[what] += 1
                what_runs.add(what)
                if counts[what, record['cls'], record['args']] == 0:
                    print(f"{what}: {record['cls']} {record['args'][:120]} "
                          f'({kind}, seed {seed})\n    NumPy 1: {str(a)[:300]}'
                          f'\n    NumPy 2: {str(b)[:300]}')
                counts[what, record['cls'], record['args']] += 1
        builds[_build_outcome(before, record, what_runs)] += 1
    print('runs:', {k: v for k, v in counts.items() if isinstance(k, str)})
    print('builds:', dict(builds))


def main():
    args = parse_args()
    if args.compare:
        with open(args.compare[0]) as f1, open(args.compare[1]) as f2:
            compare(json.load(f1), json.load(f2))
        return
    result = scan(args.seeds, not args.no_fixes, args.only)
    summarize(result)
    if args.out:
        with open(args.out, 'w') as file:
            json.dump(result, file)


if __name__ == '__main__':
    main()
