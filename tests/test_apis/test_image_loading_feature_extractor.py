# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmpretrain's ``FeatureExtractor`` names the ``LoadImageFromFile``
arguments it ignores in a process that imports only mmpretrain, as its
``ImageClassificationInferencer`` does
(tests/test_apis/test_image_loading_ignored.py).

There the config's ``custom_imports`` imports this package while the first
inferencer is being built, inside ``BaseInferencer.__init__``, so only the
call can warn; ``FeatureExtractor`` overrides ``__call__`` without calling
``BaseInferencer.__call__``, and its features came from images read with
``mmcv.imread``'s defaults without a word.
"""
import os
import subprocess
import sys

from checkpoint_makers import save_as_built_checkpoint
from repo_paths import REPO_ROOT
from stripes_task import stripes_config, stripes_images

GRAYSCALE = ('test_dataloader = dict(dataset=dict(pipeline=['
             "dict(type='LoadImageFromFile', color_type='grayscale'), "
             "dict(type='PackInputs')]))\n")
SAID = 'drops test_dataloader.dataset.pipeline[0] LoadImageFromFile('


def test_feature_extractor_in_a_process_using_only_mmpretrain_is_told(
        tmp_path, tiny_image_data):
    (tmp_path / 'plain').mkdir()
    checkpoint = save_as_built_checkpoint(
        stripes_config(tmp_path / 'plain', tiny_image_data),
        tmp_path / 'full.pth')
    config = stripes_config(tmp_path, tiny_image_data, GRAYSCALE)
    image = stripes_images(tiny_image_data)[0]
    script = tmp_path / 'features.py'
    script.write_text('import sys\n'
                      'from mmpretrain import FeatureExtractor\n'
                      "assert 'mmadaptformer' not in sys.modules\n"
                      'extractor = FeatureExtractor(model=sys.argv[1], '
                      "pretrained=sys.argv[2], device='cpu')\n"
                      "assert 'mmadaptformer' in sys.modules\n"
                      'for _ in range(2):\n'
                      '    feats = extractor(sys.argv[3])\n'
                      "    print('features', tuple(feats[0][0].shape))\n")
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable,
         str(script), config, checkpoint, image],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    # The features were extracted, twice; the warning came once.
    assert proc.stdout.count('features (64,)') == 2, proc.stdout[-4000:]
    said = [line for line in proc.stdout.splitlines() if SAID in line]
    assert len(said) == 1, proc.stdout[-4000:]
    assert "LoadImageFromFile(color_type='grayscale')" in said[0], said
    assert said[0].index(f'{config}: ') < said[0].index('mmpretrain'), said
