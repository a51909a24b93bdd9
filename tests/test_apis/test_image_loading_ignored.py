# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An image config whose test ``LoadImageFromFile`` has arguments
(``color_type='grayscale'``): mmpretrain's ``ImageClassificationInferencer``
drops that step and reads each image with ``mmcv.imread``'s defaults, our
``ModelInferencer`` honours it, and the two scored the same image
differently without a word. Now mmpretrain's inferencers and
``init_model`` (so ``ModelInferencer``, ``tools/infer.py`` and
``MultiTaskRecognizer``) say so, once per config and process."""
import os
import subprocess
import sys

from helpers import save_as_built_checkpoint, stripes_config, stripes_images
from repo_paths import REPO_ROOT

GRAYSCALE = ('test_dataloader = dict(dataset=dict(pipeline=['
             "dict(type='LoadImageFromFile', color_type='grayscale'), "
             "dict(type='PackInputs')]))\n")
SAID = 'drops test_dataloader.dataset.pipeline[0] LoadImageFromFile('


def _said(log_records):
    return [r.getMessage() for r in log_records if SAID in r.getMessage()]


def test_both_inferencers_name_what_mmpretrain_inferencer_ignores(
        tmp_path, tiny_image_data, log_records):
    """Theirs and ours give other scores for the same files; one warning,
    from mmpretrain's inferencer built first (and not again for
    ModelInferencer on the config), names the config, the step, its
    argument, both inferencers and what to use."""
    from mmpretrain import ImageClassificationInferencer

    from mmadaptformer.apis import ModelInferencer
    (tmp_path / 'plain').mkdir()
    plain = stripes_config(tmp_path / 'plain', tiny_image_data)
    checkpoint = save_as_built_checkpoint(plain, tmp_path / 'full.pth')
    config = stripes_config(tmp_path, tiny_image_data, GRAYSCALE)
    files = stripes_images(tiny_image_data)
    theirs = ImageClassificationInferencer(
        model=config, pretrained=checkpoint, device='cpu')
    said = _said(log_records)
    assert len(said) == 1, said
    ours = ModelInferencer(config, checkpoint)(files)
    assert _said(log_records) == said
    assert max(
        abs(a - float(b))
        for path, result in zip(files, theirs(files)) for a, b in zip(
            ours[path]['stripes']['scores'], result['pred_scores'])) > 1e-4
    assert said[0].startswith(f'{config}: '), said[0]
    for part in ("LoadImageFromFile(color_type='grayscale')",
                 'ImageClassificationInferencer', 'mmcv.imread',
                 'Classify with ModelInferencer or tools/infer.py'):
        assert part in said[0], said[0]


def test_init_model_names_it_too(tmp_path, tiny_image_data, log_records):
    """A ModelInferencer user, who gets tools/test.py's scores, is told
    that mmpretrain's inferencer would not: init_model warns once."""
    from mmadaptformer.apis import ModelInferencer, init_model
    config = stripes_config(
        tmp_path, tiny_image_data,
        GRAYSCALE.replace("color_type='grayscale'", 'to_float32=True'))
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'full.pth')
    init_model(config, checkpoint)
    ModelInferencer(config, checkpoint)
    said = _said(log_records)
    assert len(said) == 1 and 'LoadImageFromFile(to_float32=True)' in \
        said[0], said


def test_stock_loading_is_not_warned_about(tmp_path, tiny_image_data,
                                           log_records):
    """Guard of kept behaviour: a config whose LoadImageFromFile keeps its
    defaults (spelled out or not) gets no warning: both inferencers read
    its images alike."""
    from mmadaptformer.apis import init_model
    config = stripes_config(
        tmp_path, tiny_image_data,
        GRAYSCALE.replace("color_type='grayscale'",
                          "color_type='color', backend_args=None"))
    init_model(config)
    assert not _said(log_records)


def _only_mmpretrain(tmp_path, tiny_image_data, body: str):
    """Run a script that imports only mmpretrain, then ``body`` with
    ``sys.argv[1:]`` the grayscale config, a checkpoint of it and an
    image; the config and the finished process (stdout and stderr in
    one)."""
    (tmp_path / 'plain').mkdir()
    checkpoint = save_as_built_checkpoint(
        stripes_config(tmp_path / 'plain', tiny_image_data),
        tmp_path / 'full.pth')
    config = stripes_config(tmp_path, tiny_image_data, GRAYSCALE)
    image = stripes_images(tiny_image_data)[0]
    script = tmp_path / 'theirs.py'
    script.write_text('import sys\n' + body)
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable,
         str(script), config, checkpoint, image],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300)
    return config, proc


def test_a_fresh_process_using_only_mmpretrain_is_told(tmp_path,
                                                       tiny_image_data):
    """A script that imports only mmpretrain: the config's custom_imports
    imports this package while the inferencer is being built; the first
    call names what it ignores, once for two calls."""
    config, proc = _only_mmpretrain(
        tmp_path, tiny_image_data,
        'from mmpretrain import ImageClassificationInferencer\n'
        'inferencer = ImageClassificationInferencer(model=sys.argv[1], '
        "pretrained=sys.argv[2], device='cpu')\n"
        'inferencer(sys.argv[3])\n'
        'inferencer(sys.argv[3])\n')
    assert proc.returncode == 0, proc.stdout[-4000:]
    said = [line for line in proc.stdout.splitlines() if SAID in line]
    assert len(said) == 1, proc.stdout[-4000:]
    assert f"{config}: mmpretrain's ImageClassificationInferencer" in \
        said[0], said


def test_feature_extractor_in_a_process_using_only_mmpretrain_is_told(
        tmp_path, tiny_image_data):
    """The same with mmpretrain's ``FeatureExtractor``, which overrides
    ``__call__`` without calling ``BaseInferencer.__call__``: its features
    came from images read with ``mmcv.imread``'s defaults without a
    word."""
    config, proc = _only_mmpretrain(
        tmp_path, tiny_image_data, 'from mmpretrain import FeatureExtractor\n'
        "assert 'mmadaptformer' not in sys.modules\n"
        'extractor = FeatureExtractor(model=sys.argv[1], '
        "pretrained=sys.argv[2], device='cpu')\n"
        "assert 'mmadaptformer' in sys.modules\n"
        'for _ in range(2):\n'
        '    feats = extractor(sys.argv[3])\n'
        "    print('features', tuple(feats[0][0].shape))\n")
    assert proc.returncode == 0, proc.stdout[-4000:]
    # The features were extracted, twice; the warning came once.
    assert proc.stdout.count('features (64,)') == 2, proc.stdout[-4000:]
    said = [line for line in proc.stdout.splitlines() if SAID in line]
    assert len(said) == 1, proc.stdout[-4000:]
    assert "LoadImageFromFile(color_type='grayscale')" in said[0], said
    assert said[0].index(f'{config}: ') < said[0].index('mmpretrain'), said


def test_the_run_says_it_before_training(tmp_path, tiny_image_data,
                                         log_records):
    """``tools/train.py`` / ``tools/test.py`` build their runner with
    ``build_runner``: the run that trains such a config says it once, as
    it says a video config's disagreeing test pipelines, so the user
    knows before classifying with mmpretrain's inferencer."""
    from mmengine.config import Config

    from mmadaptformer.engine import build_runner
    config = stripes_config(
        tmp_path, tiny_image_data,
        GRAYSCALE.replace("color_type='grayscale'",
                          "imdecode_backend='pillow'"))
    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'work')
    build_runner(cfg)
    said = _said(log_records)
    assert len(said) == 1, said
    assert "LoadImageFromFile(imdecode_backend='pillow')" in said[0], said
