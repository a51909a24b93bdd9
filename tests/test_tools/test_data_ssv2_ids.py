# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An SSv2 video id is a file name in the videos folder: an id with a
``/`` (``"../78687"``) would name a file elsewhere, and is refused naming
its entry."""
import json

import pytest

from mmadaptformer.datasets import AnnotationError
from mmadaptformer.datasets.ssv2 import parse_ssv2_split

CLASS = 'Holding something next to something'
TEMPLATE = 'Holding [something] next to [something]'


@pytest.mark.parametrize('video_id', ['../78687', 'videos/78687'])
def test_an_id_with_a_slash_is_refused(tmp_path, video_id):
    """Guards against dropping the ``'/' in video_id`` check
    (ssv2.py ``parse_ssv2_split``): the list named ``../78687.webm``."""
    split = tmp_path / 'something-something-v2-train.json'
    split.write_text(json.dumps([dict(id='1', template=TEMPLATE)]))
    assert [(s.filename, s.label)
            for s in parse_ssv2_split(str(split), {CLASS: 0})] == [('1.webm',
                                                                    0)]
    split.write_text(
        json.dumps([
            dict(id='1', template=TEMPLATE),
            dict(id=video_id, template=TEMPLATE)
        ]))
    with pytest.raises(AnnotationError) as info:
        parse_ssv2_split(str(split), {CLASS: 0})
    assert str(info.value).startswith(
        f'{split}: entry 1: expected an object with a video "id" (a string '
        'without spaces or "/"), got ')
