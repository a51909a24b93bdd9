"""``device=None`` (which MMEngine's and mmpretrain's inferencers take as
"pick one") and a number given to our inference API.

``None`` was named as the string ``'None'`` (``device='None'``) with
PyTorch's many-line ``torch.device()`` signature listing, and refused;
``0`` as ``'0'``. ``None`` now picks the device MMEngine's inferencers
pick (``mmengine.device.get_device()``: the CPU on this GPU-less machine);
a number is named as given, on one line, with the devices this machine
has, before anything is read."""
import pytest

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, init_model


@pytest.mark.parametrize('make', [
    lambda device: init_model('nope.py', 'nope.pth', device=device),
    lambda device: ModelInferencer('nope.py', 'nope.pth', device=device),
])
def test_none_picks_a_device_as_mmengines_inferencers_do(make):
    """Past the device: the missing config is what is refused."""
    with pytest.raises(Exception) as info:
        make(None)
    assert 'nope.py' in str(info.value), info.value
    assert 'device' not in str(info.value), info.value


def test_none_is_the_device_mmengine_picks():
    from mmengine.device import get_device
    engine = MultiTaskRecognizer(device=None)
    assert engine.device == get_device() == 'cpu'


def test_a_number_is_named_as_given():
    with pytest.raises(ValueError) as info:
        init_model('nope.py', 'nope.pth', device=0)
    text = str(info.value)
    assert text.startswith('init_model(device=0): a device is a str'), text
