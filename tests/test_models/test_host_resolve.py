# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``hosts.resolve``: the one place a HostSpec's dotted function names are
imported (the pretrained reader, the feature-width reader and the output
check each imported theirs with ``importlib`` on their own, and a wrong
name gave a bare ``AttributeError``/``ModuleNotFoundError`` naming
neither the HostSpec nor the dotted name)."""
import pytest

from mmadaptformer.models import host_widths
from mmadaptformer.models.backbones import host_outputs
from mmadaptformer.models.hosts import HOSTS, host_spec, resolve


def test_every_declared_name_resolves():
    """Guard of kept behaviour: each dotted name of the table names a
    function."""
    specs = [host_spec(spec.backbone) for spec in HOSTS]
    names = [
        name for spec in specs
        for name in (spec.pretrained_reader, spec.feature_width,
                     spec.output_check, spec.own_layout) if name is not None
    ]
    assert len(names) >= len(HOSTS) // 2
    for name in names:
        assert callable(resolve(name)), name


def test_resolves_the_named_function():
    assert resolve('mmadaptformer.models.host_widths.stage_width') is \
        host_widths.stage_width
    assert resolve('mmadaptformer.models.backbones.host_outputs.'
                   'hivit_unusable_outputs') is \
        host_outputs.hivit_unusable_outputs


@pytest.mark.parametrize('dotted,says', [
    ('stage_width', 'expected a dotted name, package.module.function'),
    ('mmadaptformer.models.host_widths.stage_widht',
     "'mmadaptformer.models.host_widths' has no function 'stage_widht'"),
    ('mmadaptformer.models.host_widths._BATCH_NORMS',
     "has no function '_BATCH_NORMS'"),
    ('mmadaptformer.models.no_such_module.width',
     "its module 'mmadaptformer.models.no_such_module' cannot be imported"),
])
def test_refuses_a_wrong_name_naming_it(dotted, says):
    with pytest.raises(ValueError) as info:
        resolve(dotted)
    message = str(info.value)
    assert f'A HostSpec names the function {dotted!r}' in message, message
    assert says in message, message
