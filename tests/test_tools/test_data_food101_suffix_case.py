# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A Food-101 split line whose id already ends in the images' extension, in
another case (``sushi/77.JPG``), keeps it as it is: it names the file."""
from mmadaptformer.datasets.food101 import parse_food101_split


def test_an_upper_case_suffix_is_not_added_again(tmp_path):
    """Guards against comparing the suffix case-sensitively (food101.py
    ``has_ext``): ``sushi/77.JPG`` became ``sushi/77.JPG.jpg``, a file that
    does not exist."""
    split = tmp_path / 'train.txt'
    split.write_text('sushi/77.JPG\nramen/2001.Jpg\nramen/2002\n')
    samples = parse_food101_split(str(split), dict(ramen=0, sushi=1))
    assert [(s.filename, s.label, s.source) for s in samples] == [
        ('sushi/77.JPG', 1, f'{split}:1'),
        ('ramen/2001.Jpg', 0, f'{split}:2'),
        ('ramen/2002.jpg', 0, f'{split}:3'),
    ]
