# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``device=None`` (which MMEngine's and mmpretrain's inferencers take as
"pick one") and a number given to our inference API.

``None`` was named as the string ``'None'`` (``device='None'``) with
PyTorch's many-line ``torch.device()`` signature listing; ``0`` as
``'0'``. Both are now named as given, on one line, with the devices this
machine has. Checked before anything is read (the config is not there)."""
import pytest

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, init_model
from mmadaptformer.utils.device_choices import device_choices


@pytest.mark.parametrize('make, owner', [
    (lambda device: init_model('nope.py', 'nope.pth', device=device),
     'init_model'),
    (lambda device: ModelInferencer('nope.py', 'nope.pth', device=device),
     'ModelInferencer'),
    (lambda device: MultiTaskRecognizer(device=device), 'MultiTaskRecognizer'),
])
def test_none_is_named_as_none_on_one_line(make, owner):
    with pytest.raises(ValueError) as info:
        make(None)
    text = str(info.value)
    assert text == (f'{owner}(device=None): a device is a str such as '
                    "'cpu' or 'cuda:0', or a torch.device, not NoneType; "
                    f'{device_choices()}.'), text
    assert '\n' not in text


def test_a_number_is_named_as_given():
    with pytest.raises(ValueError) as info:
        init_model('nope.py', 'nope.pth', device=0)
    text = str(info.value)
    assert text.startswith('init_model(device=0): a device is a str'), text
