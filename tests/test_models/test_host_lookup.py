# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``hosts.host_spec`` and ``hosts.block_spec``: one host's declaration, by
its backbone's or its block's type."""
from mmpretrain.models.backbones import SVT, BEiTViT, VisionTransformer
from mmpretrain.models.backbones.beit import BEiTTransformerEncoderLayer
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer

from mmadaptformer.models.hosts import HOSTS, block_spec, host_spec, qualname

#: What a HostSpec says about its backbone, as opposed to its block: the
#: declarations of a backbone with several block types must agree on them,
#: since :func:`host_spec` answers with the first.
BACKBONE_FIELDS = ('token_embed', 'side_stream', 'reversible_input',
                   'own_pretrained', 'own_pretrained_advice',
                   'own_pretrained_key', 'pretrained_names',
                   'pretrained_reader', 'own_layout', 'feature_width',
                   'output_check', 'output_check_keys', 'init_cfg_none_fails')
#: What :func:`block_spec`'s callers read about a block shared by hosts.
BLOCK_FIELDS = ('wiring', 'batch_first', 'stream_inputs')


def test_a_host_is_found_by_its_class_or_its_qualname():
    spec = host_spec(BEiTViT)
    assert spec.backbone == qualname(BEiTViT)
    assert spec.block == qualname(BEiTTransformerEncoderLayer)
    assert host_spec(qualname(BEiTViT)) is spec
    assert block_spec(BEiTTransformerEncoderLayer) is spec
    assert block_spec(spec.block) is spec


def test_other_types_and_subclasses_are_no_host():
    """Exact types only, as the tables before: a subclass may change what
    the declaration says (BEiT's layer subclasses the ViT one)."""
    assert host_spec(TransformerEncoderLayer) is None
    assert host_spec(type('MyViT', (VisionTransformer, ), {})) is None
    assert block_spec(VisionTransformer) is None
    assert block_spec(type('MyLayer', (TransformerEncoderLayer, ), {})) is None
    assert host_spec('no.such.Backbone') is None


def test_a_backbone_declared_per_block_type_answers_with_its_first():
    """SVT is declared once per block type; the first declaration speaks
    for the backbone."""
    svt = [spec for spec in HOSTS if spec.backbone == qualname(SVT)]
    assert len(svt) == 2
    assert host_spec(SVT) is svt[0]


def test_declarations_of_one_backbone_or_block_agree():
    """Guards the tables: the first declaration of a backbone (a block)
    answers for it, so its other declarations must not say otherwise."""
    for spec in HOSTS:
        first = host_spec(spec.backbone)
        for field in BACKBONE_FIELDS:
            assert getattr(spec, field) == getattr(first, field), \
                (spec.backbone, spec.block, field)
        first = block_spec(spec.block)
        for field in BLOCK_FIELDS:
            assert getattr(spec, field) == getattr(first, field), \
                (spec.backbone, spec.block, field)
