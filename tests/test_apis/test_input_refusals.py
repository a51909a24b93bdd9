# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An address of any scheme is refused as an address, not as a missing
file (mmengine's file backends read ``s3://``, ``petrel://`` and others)."""
import pytest

from mmadaptformer.apis.infer_files import InferenceInputError
from mmadaptformer.apis.input_refusals import InputRefusals


@pytest.mark.parametrize('address', [
    's3://bucket/val/0.png', 'petrel://bucket/0.png', 'ftp://host/0.png',
    'HTTPS://host/0.png'
])
def test_an_address_of_any_scheme_is_named_as_an_address(address):
    """Guards the mutation that matches only ``https?://`` addresses in
    InputRefusals.missing (the others read as a missing file)."""
    refusals = InputRefusals('mmpretrain', [], 'test_pipeline', None)
    with pytest.raises(InferenceInputError) as error:
        refusals.missing(address)
    assert str(error.value).startswith(f'{address}: is an address'), \
        str(error.value)
    assert 'no such file' not in str(error.value)
