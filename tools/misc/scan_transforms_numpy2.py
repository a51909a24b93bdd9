# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run every transform of mmaction2 and mmpretrain on real tiny data.

mmaction2 1.2.0, mmpretrain 1.2.0 and mmcv 2.1.0 were written for NumPy 1;
the pinned stack runs NumPy 2. This scan builds every class registered in
their ``TRANSFORMS`` (and MMEngine's, which mmcv fills), once with its
defaults and once with each set of arguments that a model-zoo config of
the installed toolboxes gives it (read with ``Config.fromfile`` from their
``.mim/configs``), and runs each on the inputs its toolbox's pipelines
give it (a uint8 image, decoded uint8 frames, a decord or OpenCV reader
of a real mp4, a folder of JPEG frames, 2D keypoints), each under many
seeds. It prints the failures grouped by their error and writes one
record per run, with a digest of the outputs, to ``--out``.

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
import tempfile
import traceback
from collections import Counter, defaultdict

#: How many frames the tiny video has, and its size (decord 0.6.0 fails
#: to decode an mp4v video 48 wide: ``DECORDError ... from_size ==
#: to_size``, under NumPy 1 too).
FRAMES, HEIGHT, WIDTH = 16, 48, 64

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
                step = {k: v for k, v in step.items() if k != '_scope_'}
                label, cls = _resolve(registries, scope, step['type'])
                if cls is None:
                    continue
                args = {k: v for k, v in step.items() if k != 'type'}
                key = (scope, label, repr(sorted(args.items())))
                found.setdefault(key, (scope, step, osp.relpath(path, root)))
    return found, unreadable


def _write_data(root):
    """A tiny mp4, a png and a folder of JPEG frames under ``root``."""
    import cv2
    import numpy as np
    rng = np.random.RandomState(0)
    frames = [
        rng.randint(0, 256, (HEIGHT, WIDTH, 3)).astype(np.uint8)
        for _ in range(FRAMES)
    ]
    video = osp.join(root, 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 8,
                             (WIDTH, HEIGHT))
    for frame in frames:
        writer.write(frame)
    writer.release()
    image = osp.join(root, 'image.png')
    cv2.imwrite(image, frames[0])
    frame_dir = osp.join(root, 'frames')
    os.makedirs(frame_dir)
    for index, frame in enumerate(frames, 1):
        cv2.imwrite(osp.join(frame_dir, f'img_{index:05}.jpg'), frame)
    return video, image, frame_dir, frames


def input_kinds(root):
    """``{kind: results}``: what the toolboxes' pipelines hand a step."""
    import cv2
    import numpy as np
    from mmaction.datasets.transforms import (DecordInit, FormatShape,
                                              OpenCVInit, SampleFrames)
    from PIL import Image
    video, image, frame_dir, frames = _write_data(root)
    img = frames[0]
    kinds = dict(
        image=dict(
            img=img.copy(),
            img_shape=img.shape[:2],
            ori_shape=img.shape[:2],
            img_path=image,
            gt_label=1,
            sample_idx=0),
        image_file=dict(img_path=image, gt_label=1, sample_idx=0))
    clip = dict(
        filename=video,
        label=1,
        start_index=0,
        modality='RGB',
        total_frames=FRAMES)
    kinds['video_file'] = copy.deepcopy(clip)
    sample = SampleFrames(clip_len=4, frame_interval=2, num_clips=1)
    for name, init in (('decord', DecordInit()), ('opencv', OpenCVInit())):
        np.random.seed(0)
        kinds[name] = sample.transform(init.transform(copy.deepcopy(clip)))
    np.random.seed(0)
    kinds['rawframes'] = sample.transform(
        dict(
            frame_dir=frame_dir,
            filename_tmpl='img_{:05}.jpg',
            label=1,
            start_index=1,
            modality='RGB',
            total_frames=FRAMES))
    decoded = dict(
        imgs=[frame.copy() for frame in frames[:4]],
        img_shape=img.shape[:2],
        original_shape=img.shape[:2],
        modality='RGB',
        num_clips=1,
        clip_len=4,
        frame_interval=2,
        frame_inds=np.arange(0, 8, 2),
        label=1,
        filename=video,
        start_index=0,
        total_frames=FRAMES)
    kinds['frames'] = decoded
    # Frames and an image large enough for the zoo's crops (up to 336).
    large = [
        cv2.resize(frame, (400, 340), interpolation=cv2.INTER_NEAREST)
        for frame in frames[:4]
    ]
    kinds['frames_large'] = dict(
        decoded,
        imgs=large,
        img_shape=large[0].shape[:2],
        original_shape=large[0].shape[:2])
    kinds['image_large'] = dict(
        kinds['image'],
        img=large[0].copy(),
        img_shape=large[0].shape[:2],
        ori_shape=large[0].shape[:2])
    kinds['pil_image'] = dict(
        kinds['image'], img=Image.fromarray(img[..., ::-1].copy()))
    kinds['formatted'] = FormatShape('NCTHW').transform(copy.deepcopy(decoded))
    rng = np.random.RandomState(1)
    pose = dict(
        keypoint=(rng.rand(1, FRAMES, 17, 2) * [WIDTH, HEIGHT]).astype(
            np.float32),
        keypoint_score=rng.rand(1, FRAMES, 17).astype(np.float32),
        img_shape=(HEIGHT, WIDTH),
        original_shape=(HEIGHT, WIDTH),
        total_frames=FRAMES,
        start_index=0,
        label=1,
        modality='Pose',
        frame_dir='clip')
    kinds['pose'] = pose
    # NTU RGB+D's 25 joints in 3D, as its 3D recipes read them.
    kinds['pose_ntu3d'] = dict(
        pose,
        keypoint=rng.rand(2, FRAMES, 25, 3).astype(np.float32),
        keypoint_score=rng.rand(2, FRAMES, 25).astype(np.float32),
        body_center=np.zeros(3, np.float32))
    kinds['pose_frames'] = dict(
        pose, imgs=[frame.copy() for frame in frames], modality='RGB')
    return kinds


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


def _run(cls, args, results, seed, root=''):
    """One build and call on a copy of ``results``: an output digest, or
    the error (``'ERROR ...'``)."""
    _seed(seed)
    try:
        step = cls(**args)
    except Exception as error:
        return 'ERROR build ' + _error(error)[6:]
    try:
        out = step(_copy(results))
    except Exception as error:
        return _error(error)
    return digest(out, root)


def scan(seeds, fixes):
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
            _, cls = _resolve(registries, scope, step['type'])
            args = {k: v for k, v in step.items() if k != 'type'}
            record = dict(
                scope=scope, cls=label, args=args_repr, config=config, runs={})
            built = _run(cls, args, {}, 0)
            if str(built).startswith('ERROR build'):
                record['build'] = built
                records.append(record)
                continue
            # The kinds the step takes: all but those where seed 0 misses a
            # key (``compare`` sorts out the wrong kinds that fail
            # otherwise under both NumPy versions).
            for kind, results in kinds.items():
                first = _run(cls, args, results, 0, root)
                if str(first).startswith('ERROR KeyError'):
                    record['runs'].setdefault('unusable', {})[kind] = first
                    continue
                record['runs'][kind] = [first] + [
                    _run(cls, args, results, seed, root)
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


def compare(numpy1, numpy2):
    """Print the runs whose outcome differs between the two records."""
    old = {(r['cls'], r['args']): r for r in numpy1['records']}
    counts = Counter()
    for record in numpy2['records']:
        before = old.get((record['cls'], record['args']))
        if before is None:
            continue
        if 'build' in record or 'build' in before:
            if record.get('build') != before.get('build'):
                print(f"build differs: {record['cls']} {record['args']}\n"
                      f"    NumPy 1: {before.get('build')}\n"
                      f"    NumPy 2: {record.get('build')}")
            continue
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
                if counts[what, record['cls'], record['args']] == 0:
                    print(f"{what}: {record['cls']} {record['args'][:120]} "
                          f'({kind}, seed {seed})\n    NumPy 1: {str(a)[:300]}'
                          f'\n    NumPy 2: {str(b)[:300]}')
                counts[what, record['cls'], record['args']] += 1
    print({k: v for k, v in counts.items() if isinstance(k, str)})


def main():
    args = parse_args()
    if args.compare:
        with open(args.compare[0]) as f1, open(args.compare[1]) as f2:
            compare(json.load(f1), json.load(f2))
        return
    result = scan(args.seeds, not args.no_fixes)
    summarize(result)
    if args.out:
        with open(args.out, 'w') as file:
            json.dump(result, file)


if __name__ == '__main__':
    main()
