# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A process that imported decord before cv2 cannot decode PNG images with
OpenCV: ``import mmadaptformer`` warns, and the image dataset and
inference (of images and of folders of PNG frames) name the file and that
cause instead of calling a good PNG broken. Each check runs in a fresh
process, as the import order is the process's."""
import json
import os.path as osp

from helpers import run_fresh_python

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))

# argv: FIRST (the module imported first), a folder for the data, tests/.
_SCRIPT = '''
import importlib, json, sys
importlib.import_module(sys.argv[1])
sys.path.insert(0, sys.argv[3])
import mmadaptformer  # noqa: E402

import os  # noqa: E402
import os.path as osp  # noqa: E402

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import MODELS, DefaultScope  # noqa: E402

from broken_images import write_broken_images  # noqa: E402
from helpers import TINY_IMAGE_CONFIG  # noqa: E402
from mmadaptformer.apis import ModelInferencer  # noqa: E402
from mmadaptformer.datasets import CheckedImageDataset  # noqa: E402
from mmadaptformer.testing import make_stripes_dataset  # noqa: E402

root = sys.argv[2]
make_stripes_dataset(root, num_per_class=1, splits=('train', ))
broken = write_broken_images(osp.join(root, 'broken'))
good = osp.join(root, 'train', 'horizontal', '0.png')
out = dict(good=good)
try:
    from mmadaptformer.utils.png_decoding import (png_decoding_error,
                                                  png_decoding_works)
except ImportError as e:  # (to see what the code before it did)
    out['import_error'] = str(e)
else:
    out['works'] = png_decoding_works()
    out['truncated'] = str(png_decoding_error(broken['trunc_png']))


def outcome(load):
    try:
        value = load()
    except Exception as e:
        return dict(error=type(e).__name__, message=str(e))
    return dict(value=value)


pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
with DefaultScope.overwrite_default_scope('mmpretrain'):
    for mode in ('train', 'test'):
        dataset = CheckedImageDataset(
            data_root=root, data_prefix='train', pipeline=pipeline,
            test_mode=mode == 'test')
        index = next(i for i in range(len(dataset))
                     if dataset.get_data_info(i)['img_path'] == good)
        out[mode] = outcome(lambda: dict(
            dataset[index]['data_samples'].metainfo))
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
ckpt = osp.join(root, 'vit.pth')
torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
engine = ModelInferencer(TINY_IMAGE_CONFIG, ckpt, name='vit')
out['infer'] = outcome(lambda: engine([good])[good])

# A clip of PNG frames, for a model whose test pipeline reads them.
sys.path.insert(0, osp.join(sys.argv[3], 'test_apis'))
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from helpers import save_as_built_checkpoint  # noqa: E402
from test_frame_folders import rawframe_config  # noqa: E402

clip = osp.join(root, 'clip')
os.makedirs(clip)
rng = np.random.default_rng(0)
for index in range(1, 13):  # cv2 encodes PNG in any process
    cv2.imwrite(osp.join(clip, f'img_{index:05}.png'),
                rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
config = rawframe_config(osp.join(root, 'png.py'), 'img_{:05}.png')
frames = ModelInferencer(
    config, save_as_built_checkpoint(config, osp.join(root, 'png.pth')),
    name='frames')
out['clip'] = clip
out['frames'] = outcome(lambda: frames([clip])[clip])
if 'works' in out:  # a clip whose first frame is a broken PNG
    from mmadaptformer.utils.png_decoding import frame_png_decoding_error
    out['truncated_frame'] = str(frame_png_decoding_error(dict(
        frame_dir=osp.dirname(broken['trunc_png']),
        filename_tmpl=osp.basename(broken['trunc_png']),
        frame_inds=np.array([3, 6]))))
print('RESULT ' + json.dumps(out, default=str))
'''

_CAUSE = ('OpenCV cannot decode PNG images in this process: decord was '
          "imported before cv2 (decord 0.6 bundles a zlib that OpenCV's "
          'libpng then uses). Import cv2 (or mmadaptformer) before decord.')


def _run(first: str, folder: str):
    """Run :data:`_SCRIPT` with ``first`` imported first; its results and
    output."""
    proc = run_fresh_python(_SCRIPT, first, folder, TESTS, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith('RESULT '))
    # The WARNING goes to MMEngine's logger (stdout), libpng's to stderr.
    return json.loads(line[len('RESULT '):]), proc.stdout + proc.stderr


def test_decord_first_names_the_cause_not_a_broken_png(tmp_path):
    out, output = _run('decord', str(tmp_path))
    good = out['good']
    for mode in ('train', 'test', 'infer'):
        result = out[mode]
        assert result.get('error') == 'PngDecodingError', (mode, result)
        assert result['message'].startswith(
            f'{good}: this PNG image is not broken (Pillow decodes it), '
            'but OpenCV cannot decode it here. ' + _CAUSE), (mode, result)
    # A folder of PNG frames: the folder, the first frame read and the
    # cause, not "its frames cannot be read".
    clip = out['clip']
    assert out['frames'].get('error') == 'PngDecodingError', out['frames']
    assert out['frames']['message'].startswith(
        f'{clip}: frame img_00001.png (the first that RawFrameDecode reads) '
        'is a PNG image that is not broken (Pillow decodes it), but OpenCV '
        'cannot decode it here, nor any PNG frame. ' + _CAUSE), out['frames']
    # Not skipped as a broken image in training, so not counted as one.
    assert 'skipping broken image' not in output
    # Once, at import, as a WARNING.
    assert output.count('WARNING - ' + _CAUSE) == 1, output
    assert out['works'] is False
    # A PNG that Pillow cannot decode either is broken, whatever the
    # process: it is still reported as such.
    assert out['truncated'] == 'None'
    assert out['truncated_frame'] == 'None'


def test_cv2_first_decodes_png_as_before(tmp_path):
    """The control: no warning, and the same loads succeed."""
    out, output = _run('cv2', str(tmp_path))
    for mode in ('train', 'test'):
        metainfo = out[mode]['value']
        assert metainfo['img_path'] == out['good'], (mode, out[mode])
        assert metainfo['ori_shape'] == [32, 32], (mode, out[mode])
    assert out['train']['value']['skipped_images'] == []
    scores = out['infer']['value']['vit']['scores']
    assert len(scores) == 2
    assert len(out['frames']['value']['frames']['scores']) == 2
    assert 'OpenCV cannot decode PNG' not in output
    assert 'libpng error' not in output
    assert out['works'] is True
