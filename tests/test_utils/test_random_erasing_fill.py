# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``RandomErasing(mode='const')`` of mmaction2 and mmpretrain refuses a
``fill_color`` outside 0 to 255 when it is built
(``utils/random_erasing_fill.py``): under NumPy 2 the cast raised
``OverflowError: Python integer 300 out of bounds for uint8`` at the first
batch that erased a patch, naming no argument (NumPy 1 filled 44)."""
import numpy as np
import pytest
from config_writers import config_runner, image_data_cfg
from mmaction.datasets.transforms.processing import \
    RandomErasing as ActionErasing
from mmaction.registry import TRANSFORMS as ACTION_TRANSFORMS
from mmpretrain.datasets.transforms import RandomErasing as PretrainErasing
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_fresh_python

from mmadaptformer.utils.random_erasing_fill import (RandomErasingFillError,
                                                     check_random_erasing_fill,
                                                     fill_color_error)

CLASSES = [('mmaction2', ActionErasing), ('mmpretrain', PretrainErasing)]


def _erase(cls, seed: int, built=None, **kwargs):
    """The image ``cls(erase_prob=1., **kwargs)`` (or ``built``) erases
    after ``np.random.seed(seed)``, as its toolbox passes it."""
    img = np.random.RandomState(1).randint(0, 256,
                                           (16, 20, 3)).astype(np.uint8)
    step = built or cls(erase_prob=1., **kwargs)
    np.random.seed(seed)
    if cls is ActionErasing:
        return step.transform(dict(imgs=[img]))['imgs'][0]
    return step.transform(dict(img=img))['img']


@pytest.mark.parametrize('toolbox,cls', CLASSES)
@pytest.mark.parametrize('fill_color,bad',
                         [(300, '300'), (-1, '-1'), ((0, 256.5, 3), '256.5'),
                          ((-1.5, 128, 1e9), '-1.5, 1000000000.0')])
def test_an_out_of_range_fill_colour_is_refused_when_built(
        toolbox, cls, fill_color, bad):
    with pytest.raises(RandomErasingFillError) as info:
        cls(mode='const', fill_color=fill_color)
    message = str(info.value)
    assert message.startswith(
        f"{toolbox}'s RandomErasing: fill_color={fill_color!r} is out of "
        'range'), message
    assert f'from 0 to 255 (its fraction is dropped), not {bad} (' in \
        message, message


@pytest.mark.parametrize('toolbox,cls', CLASSES)
def test_a_registry_build_names_the_key(toolbox, cls):
    from mmpretrain.registry import TRANSFORMS as PRETRAIN_TRANSFORMS
    registry = ACTION_TRANSFORMS if cls is ActionErasing else \
        PRETRAIN_TRANSFORMS
    with pytest.raises(
            RandomErasingFillError,
            match=rf"^{toolbox}'s RandomErasing: fill_color=\[1, 2, 999\] is "
            'out of range.* not 999 '):
        registry.build(dict(type='RandomErasing', fill_color=[1, 2, 999]))


@pytest.mark.parametrize('toolbox,cls', CLASSES)
@pytest.mark.parametrize(
    'fill_color',
    [0, 255, 128.9, (123.67, 116.3, 103.5), [0, 255, 7], (-0.5, 255.5, 3)])
def test_a_valid_fill_colour_erases_as_before(toolbox, cls, fill_color):
    """The same patch, filled with the same colour, as upstream's own
    constructor gives (kept behaviour; the cast drops a fraction, so -0.5
    fills 0 and 255.5 fills 255, under NumPy 1 and 2)."""
    original = cls.__new__(cls)
    cls.__init__.__wrapped__(original, erase_prob=1., fill_color=fill_color)
    for seed in range(3):
        erased = _erase(cls, seed, fill_color=fill_color)
        np.testing.assert_array_equal(erased, _erase(cls, seed, original))
        values = [fill_color] * 3 if np.isscalar(fill_color) else fill_color
        colour = np.array([int(value) for value in values], np.uint8)
        assert (erased == colour).all(-1).sum() >= 1


@pytest.mark.parametrize('toolbox,cls', CLASSES)
def test_rand_mode_takes_any_mean(toolbox, cls):
    """``mode='rand'`` draws around ``fill_color`` and clips to 0 to 255:
    kept behaviour."""
    erased = _erase(
        cls, 0, mode='rand', fill_color=(300, -20, 128), fill_std=1.)
    assert erased.dtype == np.uint8
    assert fill_color_error(toolbox, 300, 'rand') is None


def test_a_runner_refuses_the_pipeline_before_the_first_batch(
        tmp_path, tiny_image_data, clean_loggers):
    runner = config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        ('train_dataloader = dict(dataset=dict(pipeline=['
         "dict(type='LoadImageFromFile'), dict(type='RandomErasing', "
         "erase_prob=0.25, mode='const', fill_color=300), "
         "dict(type='PackInputs')]))\n"))
    with pytest.raises(RandomErasingFillError, match='fill_color=300 is out'):
        runner.build_dataloader(runner._train_dataloader)


def test_the_wrap_is_idempotent():
    inits = [cls.__init__ for _, cls in CLASSES]
    check_random_erasing_fill()
    assert [cls.__init__ for _, cls in CLASSES] == inits
    assert all(init.checks_fill_color for init in inits)


def test_upstream_fails_at_a_batch_and_import_refuses_at_build():
    """In a fresh process: before ``import mmadaptformer`` the transform
    builds and its first erase raises NumPy 2's error, which names no key
    (NumPy 1 fills 44); after, building it raises ours."""
    result = run_fresh_python("""
        import numpy as np
        from mmpretrain.datasets.transforms import RandomErasing
        step = RandomErasing(erase_prob=1., fill_color=300)
        img = np.zeros((8, 8, 3), np.uint8)
        try:
            out = step.transform(dict(img=img))['img']
        except OverflowError as error:
            print('before:', error)
        else:
            print('before: filled', out.max())
        import mmadaptformer
        try:
            RandomErasing(erase_prob=1., fill_color=300)
        except ValueError as error:
            print('after:', str(error).split(' is ')[0])
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    before = 'before: Python integer 300 out of bounds for uint8' if \
        np.lib.NumpyVersion(np.__version__) >= '2.0.0' else 'before: filled 44'
    assert lines == [
        before, "after: mmpretrain's RandomErasing: fill_color=300"
    ], result.stdout
