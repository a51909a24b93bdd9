# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``train_cfg``/``test_cfg`` keys a recognizer reads are found by
parsing its source, however the source is written: recognizers written in
the forms that matching the text misread, in a module file of their own
that stands for one mmaction2 ships."""
import importlib.util
import sys
import textwrap

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.recognizer_check import (check_recognizer_cfg,
                                                  recognizer_cfg_keys)

#: Recognizers that read ``test_cfg`` (and ``train_cfg``) in the forms a
#: regular expression over the source got wrong, or that use it whole.
FORMS = '''
from mmaction.models.recognizers.recognizer3d import Recognizer3D


def count_views(cfg):
    return len(cfg)


class SplitCallWithComment(Recognizer3D):

    def views(self):
        return self.test_cfg.get(  # how many views one batch takes
            'views_per_batch', 1)


class JoinedStrings(Recognizer3D):

    def views(self):
        return self.test_cfg.get('views_per'
                                 '_batch', 1)


class CommentNamingAKey(Recognizer3D):
    # mmaction2 0.x read self.test_cfg.get('average_clips'); 1.x does not.

    def views(self):
        return self.test_cfg.get('views_per_batch', 1)


class DocstringNamingTheCfg(Recognizer3D):

    def views(self):
        """The views one batch takes: self.test_cfg's views_per_batch."""
        return self.test_cfg.get('views_per_batch', 1)


class GetattrRead(Recognizer3D):

    def views(self):
        return getattr(self, 'test_cfg').get('views_per_batch', 1)


class SpacedAttribute(Recognizer3D):

    def views(self):
        return (self
                .test_cfg.get('views_per_batch', 1))


class InTest(Recognizer3D):

    def views(self):
        if self.train_cfg is not None and 'mix' in self.train_cfg:
            return 2
        if 'views_per_batch' in self.test_cfg:
            return self.test_cfg['views_per_batch']
        return 1


class Popped(Recognizer3D):

    def views(self):
        return self.test_cfg.pop('views_per_batch', 1)


class SetDefault(Recognizer3D):

    def views(self):
        return self.test_cfg.setdefault('views_per_batch', 1)


class DefaultByKeyword(Recognizer3D):

    def views(self):
        # ConfigDict's get, pop and setdefault take ``default=``.
        return self.test_cfg.get('views_per_batch', default=1) + \
            self.test_cfg.pop(key='chunks', default=0)


def nested_recognizer():

    class Nested(Recognizer3D):

        def views(self):
            """A docstring whose second line is at column 0:
the class's source cannot be dedented."""
            return 'views_per_batch' in self.test_cfg

    return Nested


Nested = nested_recognizer()


class GetattrWhole(Recognizer3D):

    def views(self):
        return count_views(getattr(self, 'test_cfg'))


class ChainedAlias(Recognizer3D):

    def __init__(self, *args, test_cfg=None, **kwargs):
        super().__init__(*args, test_cfg=test_cfg, **kwargs)
        cfg = self.test_cfg = test_cfg
        self.views_per_batch = cfg.get('views_per_batch', 1)


class Alias(Recognizer3D):

    def views(self):
        cfg = self.test_cfg
        return cfg.get('views_per_batch', 1)


class Iterated(Recognizer3D):

    def views(self):
        return [key for key in self.test_cfg]


class PassedWhole(Recognizer3D):

    def views(self):
        return count_views(self.test_cfg)


class VariableKey(Recognizer3D):

    def views(self, key='views_per_batch'):
        return self.test_cfg.get(key, 1)


class KeyWritten(Recognizer3D):

    def views(self):
        self.test_cfg['views_per_batch'] = 1


class PopVariableKey(Recognizer3D):

    def views(self, key='views_per_batch'):
        return self.test_cfg.pop(key, 1)


class PopStarred(Recognizer3D):

    def views(self, *args):
        return self.test_cfg.setdefault(*args)


class GetOtherKeyword(Recognizer3D):

    def views(self):
        return self.test_cfg.get('views_per_batch', fallback=1)
'''

#: What Recognizer3D (below each of them) reads.
STOCK = ('fcn_test', 'max_testing_views')


@pytest.fixture(scope='module')
def forms(tmp_path_factory):
    """The recognizers above, imported from a real file (the reader takes
    ``inspect.getsource``) under a module name of mmaction2's recognizers,
    as a recognizer it ships would be."""
    init_default_scope('mmaction')
    import mmaction.models.recognizers  # noqa: F401
    path = tmp_path_factory.mktemp('forms') / 'forms.py'
    path.write_text(textwrap.dedent(FORMS))
    name = 'mmaction.models.recognizers.mmadaptformer_test_forms'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


@pytest.mark.parametrize('name, keys', [
    ('SplitCallWithComment', ('views_per_batch', ) + STOCK),
    ('JoinedStrings', ('views_per_batch', ) + STOCK),
    ('CommentNamingAKey', ('views_per_batch', ) + STOCK),
    ('DocstringNamingTheCfg', ('views_per_batch', ) + STOCK),
    ('GetattrRead', ('views_per_batch', ) + STOCK),
    ('SpacedAttribute', ('views_per_batch', ) + STOCK),
    ('InTest', ('views_per_batch', ) + STOCK),
    ('Nested', ('views_per_batch', ) + STOCK),
    ('Popped', ('views_per_batch', ) + STOCK),
    ('SetDefault', ('views_per_batch', ) + STOCK),
    ('DefaultByKeyword', ('views_per_batch', 'chunks') + STOCK),
])
def test_the_keys_are_read_however_the_source_writes_them(forms, name, keys):
    """Before, a call interrupted by a comment, a docstring naming
    ``self.test_cfg`` and ``'KEY' in self.test_cfg`` made the recognizer
    unreadable; implicitly joined strings gave the key ``views_per``; a
    comment's ``self.test_cfg.get('average_clips')`` was a key read; and
    ``getattr(self, 'test_cfg')`` or ``self\\n.test_cfg`` hid a read key,
    so the check refused a key the recognizer reads. ``.pop('KEY')``,
    ``.setdefault('KEY', v)`` and ``.get('KEY', default=v)`` made the
    recognizer unreadable, so it went unchecked."""
    expected = {'train_cfg': (), 'test_cfg': keys}
    if name == 'InTest':
        expected['train_cfg'] = ('mix', )
    assert recognizer_cfg_keys(getattr(forms, name)) == expected


def test_a_use_that_may_read_any_key_is_not_checked(forms):
    """``test_cfg`` passed on whole, aliased, iterated, read with a key
    that is not a constant, or written: the keys cannot be known. Before,
    ``getattr(self, 'test_cfg')`` passed on whole went unseen, and
    ``cfg = self.test_cfg = test_cfg`` passed for BaseRecognizer's
    assignment, so the keys read through them were refused. A guard of kept
    behaviour for ``pop``/``setdefault`` with a variable or starred key and
    ``get`` with a keyword other than ``default``."""
    for name in ('GetattrWhole', 'ChainedAlias', 'Alias', 'Iterated',
                 'PassedWhole', 'VariableKey', 'KeyWritten', 'PopVariableKey',
                 'PopStarred', 'GetOtherKeyword'):
        assert recognizer_cfg_keys(getattr(forms, name)) is None, name


@pytest.fixture
def registered_forms(forms):
    """The recognizers above in mmaction2's registry, for a config."""
    from mmaction.registry import MODELS
    names = ('SpacedAttribute', 'InTest', 'GetattrWhole', 'Popped',
             'SetDefault')
    for name in names:
        MODELS.register_module(
            name=f'Forms{name}', module=getattr(forms, name), force=True)
    try:
        yield
    finally:
        for name in names:
            MODELS.module_dict.pop(f'Forms{name}')


def _cfg(type_, **model):
    return Config(
        dict(default_scope='mmaction', model=dict(type=type_, **model)))


def test_the_config_check_follows_the_parsed_keys(registered_forms):
    """A key the recognizer reads passes (before, ``self\\n.test_cfg``'s
    key was refused); a misspelled one is named with the key read (before,
    ``'KEY' in self.test_cfg`` left the recognizer unchecked)."""
    check_recognizer_cfg(
        _cfg('FormsSpacedAttribute', test_cfg=dict(views_per_batch=2)), 'c.py')
    for type_ in ('FormsSpacedAttribute', 'FormsInTest'):
        with pytest.raises(ConfigError) as e:
            check_recognizer_cfg(
                _cfg(type_, test_cfg=dict(views_per_bach=2)), 'c.py')
        assert str(e.value) == (
            f'c.py: model.test_cfg.views_per_bach: {type_[5:]} does not '
            "read test_cfg.views_per_bach (did you mean 'views_per_batch'?); "
            f"mmaction2's {type_[5:]} ignores a key it does not read without "
            'a word. It reads: views_per_batch, fcn_test, max_testing_views.')
    check_recognizer_cfg(_cfg('FormsInTest', train_cfg=dict(mix=True)), 'c.py')
    # Unreadable: anything goes.
    check_recognizer_cfg(
        _cfg('FormsGetattrWhole', test_cfg=dict(views_per_bach=2)), 'c.py')


@pytest.mark.parametrize('type_', ['FormsPopped', 'FormsSetDefault'])
def test_keys_read_by_pop_and_setdefault_are_checked(registered_forms, type_):
    """Before, ``self.test_cfg.pop('KEY')`` and ``.setdefault('KEY', v)``
    left the recognizer unchecked, so a misspelled key passed without a
    word; now the key they read passes and a misspelling is named."""
    check_recognizer_cfg(_cfg(type_, test_cfg=dict(views_per_batch=2)), 'c.py')
    with pytest.raises(ConfigError) as e:
        check_recognizer_cfg(
            _cfg(type_, test_cfg=dict(views_per_bach=2)), 'c.py')
    assert str(e.value).startswith(
        f'c.py: model.test_cfg.views_per_bach: {type_[5:]} does not '
        "read test_cfg.views_per_bach (did you mean 'views_per_batch'?)")


#: The keys of every recognizer registered in mmaction2 1.2.0's MODELS.
REGISTERED = {
    'Recognizer2D': ('fcn_test', 'num_segs', 'max_testing_views'),
    'Recognizer3D': STOCK,
    'MMRecognizer3D': (),
    'RecognizerAudio': (),
    'RecognizerGCN': (),
    'RecognizerOmni': (),
}


def test_every_registered_recognizer_keeps_its_keys(forms):
    """Each recognizer mmaction2 registers reads the keys that reading its
    source as text found (the results were compared for every class in
    mmaction2's, mmpretrain's and MMEngine's MODELS); the classes that are
    not mmaction2's recognizers are not checked."""
    from mmaction.models.recognizers import BaseRecognizer
    from mmaction.registry import MODELS
    found = {}
    for name, cls in MODELS.module_dict.items():
        if not isinstance(cls, type) or cls.__module__ == forms.__name__:
            continue
        keys = recognizer_cfg_keys(cls)
        if cls.__module__.startswith('mmaction.models.recognizers.'):
            found[name] = keys
        elif not issubclass(cls, BaseRecognizer):
            assert keys is None, name
    assert found == {
        name: {
            'train_cfg': (),
            'test_cfg': keys
        }
        for name, keys in REGISTERED.items()
    }
