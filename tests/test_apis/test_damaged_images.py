# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Image files an image model's inferencer cannot decode say why: a JPEG
or PNG cut short (an interrupted copy) and bytes of no image format were
both ``cannot be decoded as an image (AssertionError: failed to load
image: PATH)``. The image files a user meets that do decode (CMYK JPEG,
grayscale, RGBA and 16-bit PNG, EXIF-rotated JPEG, another size) get the
scores MMPretrain's own inferencer gives them."""
import cv2
import numpy as np
import pytest
from helpers import save_as_built_checkpoint, stripes_config
from mmpretrain.apis import ImageClassificationInferencer
from PIL import Image

from mmadaptformer.apis import ModelInferencer


@pytest.fixture(scope='module')
def model(tiny_image_data, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('damaged_images')
    config = stripes_config(tmp_path, tiny_image_data)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'full.pth')
    return config, checkpoint


def _stripes(size=32):
    image = np.zeros((size, size, 3), np.uint8)
    image[:, ::4] = (30, 200, 120)
    image[::7] = (250, 10, 60)
    return image


@pytest.mark.parametrize('name, cut, expected', [
    ('cut.jpg', 0.7, 'a JPEG file cut short'),
    ('head.jpg', 0.3, 'a JPEG file cut short'),
    ('cut.png', 0.6, 'a PNG file cut short'),
])
def test_a_file_cut_short_is_named_so(model, tmp_path, name, cut, expected):
    config, checkpoint = model
    whole = tmp_path / ('whole' + name[-4:])
    cv2.imwrite(str(whole), _stripes())
    data = whole.read_bytes()
    path = str(tmp_path / name)
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * cut)])
    error = ModelInferencer(config, checkpoint)([path])[path]['error']
    assert error.startswith(f'{path}: cannot be decoded as an image: '
                            f'{expected}, without the end marker of a '
                            'complete one (an interrupted copy or '
                            'download? copy it again)'), error
    assert '\n' not in error
    # The whole file decodes, and is named as nothing wrong.
    from mmadaptformer.utils.image_files import image_damage
    assert image_damage(str(whole)) == ''


def test_bytes_of_no_image_format_are_named(model, tmp_path):
    config, checkpoint = model
    path = str(tmp_path / 'page.jpg')
    with open(path, 'wb') as f:
        f.write(b'<!DOCTYPE html><html>Not found</html>')
    error = ModelInferencer(config, checkpoint)([path])[path]['error']
    assert error.startswith(
        f'{path}: cannot be decoded as an image: its '
        'first bytes match no image format (JPEG, PNG, '
        "BMP, TIFF, WebP, PPM/PGM): b'<!DOCTYPE html><'"), error


def test_image_formats_by_their_first_bytes(tmp_path):
    """Guards the formats OpenCV reads for mmpretrain's LoadImageFromFile
    against the names the messages give them."""
    from mmadaptformer.utils.image_files import image_damage, image_format
    image = _stripes()
    for ext, name in (('.jpg', 'JPEG'), ('.png', 'PNG'), ('.bmp', 'BMP'),
                      ('.tif', 'TIFF'), ('.webp', 'WebP'), ('.ppm', 'PPM'),
                      ('.pgm', 'PGM')):
        path = str(tmp_path / f'a{ext}')
        written = image[..., 0] if ext == '.pgm' else image
        assert cv2.imwrite(path, written), ext
        with open(path, 'rb') as f:
            assert image_format(f.read(16)) == name, ext
        assert image_damage(path) == '', ext
    assert image_format(b'GIF89a') is None


def test_decodable_images_get_mmpretrains_scores(model, tmp_path):
    """Guards kept behaviour: every route reads these as MMPretrain's test
    pipeline (OpenCV's IMREAD_COLOR) does."""
    config, checkpoint = model
    image = _stripes()
    paths = {}

    def path(name):
        paths[name] = str(tmp_path / name)
        return paths[name]

    cv2.imwrite(path('gray.png'), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(
        path('rgba.png'),
        np.dstack([image, np.full(image.shape[:2], 90, np.uint8)]))
    cv2.imwrite(path('deep.png'), image.astype(np.uint16) * 257)
    cv2.imwrite(path('big.png'), cv2.resize(image, (48, 48)))
    Image.fromarray(image[..., ::-1]).convert('CMYK').save(path('cmyk.jpg'))
    # Stored turned a quarter left, with the EXIF orientation (6) that
    # turns it back.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(image[..., ::-1]).rotate(
        90, expand=True).save(
            path('exif.jpg'), exif=exif.tobytes())
    ours = ModelInferencer(config, checkpoint)(list(paths.values()))
    theirs = ImageClassificationInferencer(
        model=config, pretrained=checkpoint, device='cpu')
    for name, file in paths.items():
        scores = theirs(file)[0]['pred_scores']
        (answer, ) = ours[file].values()
        np.testing.assert_allclose(
            answer['scores'], scores, atol=1e-5, err_msg=name)
    # The EXIF orientation is applied: the same as the upright image.
    upright = str(tmp_path / 'upright.jpg')
    Image.fromarray(image[..., ::-1]).save(upright)
    assert cv2.imread(paths['exif.jpg']).shape == (32, 32, 3)
    assert np.abs(
        cv2.imread(paths['exif.jpg']).astype(int) -
        cv2.imread(upright).astype(int)).mean() < 8
