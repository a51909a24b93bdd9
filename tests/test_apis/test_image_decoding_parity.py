# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Guard of kept behaviour: image files that decoders treat differently
(EXIF-rotated JPEG, grayscale, 16-bit, RGBA PNG, CMYK JPEG) get from
:class:`~mmadaptformer.apis.ModelInferencer` the scores mmpretrain's own
``ImageClassificationInferencer`` gives for the same config and
checkpoint: both read through the config's ``LoadImageFromFile``, so
EXIF orientation is applied alike (it was audited, not broken)."""
import cv2
import numpy as np
import pytest
import torch
from helpers import save_as_built_checkpoint, stripes_config, stripes_images
from PIL import Image

from mmadaptformer.apis import ModelInferencer


@pytest.fixture(scope='module')
def odd_images(tiny_image_data, tmp_path_factory):
    root = tmp_path_factory.mktemp('odd_images')
    bgr = cv2.imread(stripes_images(tiny_image_data)[0])
    rgb = Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))
    paths = {
        k: str(root / n)
        for k, n in dict(
            exif='exif6.jpg',
            gray='gray.png',
            deep='c16.png',
            rgba='rgba.png',
            cmyk='cmyk.jpg').items()
    }
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned; shown turned back by 90 degrees
    rgb.rotate(90, expand=True).save(paths['exif'], exif=exif, quality=95)
    rgb.convert('L').save(paths['gray'])
    cv2.imwrite(paths['deep'], bgr.astype(np.uint16) * 257)
    rgb.convert('RGBA').save(paths['rgba'])
    rgb.convert('CMYK').save(paths['cmyk'])
    return paths


def test_scores_equal_mmpretrain_inferencer(odd_images, tiny_image_data,
                                            tmp_path, clean_loggers):
    from mmpretrain import ImageClassificationInferencer
    config = stripes_config(tmp_path, tiny_image_data)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'full.pth')
    ours = ModelInferencer(config, checkpoint)
    files = sorted(odd_images.values())
    answers = ours(files)
    theirs = ImageClassificationInferencer(
        model=config, pretrained=checkpoint, device='cpu')(
            files)
    for path, result in zip(files, theirs):
        answer = answers[path]['stripes']
        torch.testing.assert_close(
            torch.tensor(answer['scores']),
            torch.as_tensor(result['pred_scores']),
            msg=path)
        assert answer['label'] == result['pred_label'], path
    # The orientation mattered: the stored (turned) pixels score otherwise.
    stored = cv2.imread(odd_images['exif'],
                        cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    turned = ours(stored)[0]['stripes']['scores']
    assert not np.allclose(
        turned, answers[odd_images['exif']]['stripes']['scores'], atol=1e-4)
