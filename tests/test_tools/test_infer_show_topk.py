# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py --show-dir DIR --topk K`` draws K classes per input and
task, as it prints them."""
import cv2
import numpy as np
from helpers import (TINY_IMAGE_CONFIG, image_data_cfg,
                     save_as_built_checkpoint, write_config)


def test_topk_is_the_number_of_classes_drawn(infer, tiny_image_data, tmp_path,
                                             clean_loggers):
    """Of two classes, one drawn is another picture than two."""
    config = write_config(tmp_path / 'stripes.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'image.pth')
    image = tmp_path / 'in' / 'photo.png'
    image.parent.mkdir()
    cv2.imwrite(str(image), np.full((48, 64, 3), 90, np.uint8))
    drawn = {}
    for k in ('1', '2'):
        show = tmp_path / f'vis{k}'
        assert infer([
            config, checkpoint,
            str(image), '--show-dir',
            str(show), '--topk', k
        ]) == 0
        drawn[k] = cv2.imread(str(show / 'photo.png'))
    assert drawn['1'].shape == drawn['2'].shape == (48, 64, 3)
    assert (drawn['1'] != drawn['2']).any()


def test_topk_is_the_number_of_classes_printed(infer, tiny_image_data,
                                               tmp_path, capsys,
                                               clean_loggers):
    config = write_config(tmp_path / 'stripes.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'image.pth')
    image = tmp_path / 'photo.png'
    cv2.imwrite(str(image), np.full((48, 64, 3), 90, np.uint8))
    for k in (1, 2):
        capsys.readouterr()
        assert infer([config, checkpoint, str(image), '--topk', str(k)]) == 0
        line, = capsys.readouterr().out.splitlines()
        assert line.startswith(f'{image}: stripes: ')
        assert line.count(' (') == k, line
