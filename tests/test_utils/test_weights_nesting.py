# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One detection and one wording of a checkpoint whose weights sit under
one key (``{'model': state_dict}``, as official releases save them).

Before, the paths that load a whole model (``init_model``,
``tools/test.py``, ``load_from``, ``--resume``) said "its weights are
nested under 'model' (a dict, not a tensor) ..." and ``--pretrained`` said
"holds its weights under 'model' (N tensors, ...) ...", and ``--pretrained``
looked under four keys only, calling a file nested elsewhere one "with no
tensors at its top level". Real files of the tiny video recognizer."""
import pytest
import torch
from checkpoint_makers import save_stock_video_checkpoint
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.apis import init_model
from mmadaptformer.engine import untrained_file
from mmadaptformer.models import own_loading_hint_of_cfg
from mmadaptformer.utils import PretrainedFileError, set_pretrained_backbone
from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_not_nested)
from mmadaptformer.utils.weights_nesting import nesting_key


def _cause(key: str, state: dict) -> str:
    """The words every path gives for ``state`` (a stock recognizer's
    weights, in MMAction2's own layout) nested under ``key``."""
    return (f'its weights are nested under {key!r} ({len(state)} tensors, '
            f"e.g. {next(iter(state))!r}), named in MMAction2's and "
            "MMPretrain's own layout ('backbone.patch_embed.projection."
            "weight'), not as official training code or timm name them (a "
            'checkpoint of an MMAction2, MMPretrain or mmadaptformer model, '
            f'saved under {key!r}), where MMEngine does not look (it reads '
            "'state_dict' or the top level)")


def _refusals(path: str) -> dict:
    """What each path says of the file at ``path``."""
    with pytest.raises(StateDictMismatchError) as whole:
        init_model(TINY_VIDEO_CONFIG, path)
    with pytest.raises(PretrainedFileError) as pretrained:
        set_pretrained_backbone(
            Config.fromfile(TINY_VIDEO_CONFIG),
            path,
            own_loading_hint=own_loading_hint_of_cfg)
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(TINY_VIDEO_CONFIG).model)
    resume = untrained_file(
        torch.load(path, map_location='cpu'), {}, model, path, path)
    return dict(
        whole=str(whole.value),
        pretrained=str(pretrained.value),
        resume=resume)


@pytest.mark.parametrize('key', ['model', 'teacher'])
def test_every_path_words_the_nesting_alike(tmp_path, key):
    """The same file, refused by ``init_model`` (the check of
    ``tools/test.py`` and ``load_from``), ``--pretrained`` and
    ``--resume`` in the same words; each adds its own advice (the file
    is in the model's own layout: the command that takes the weights out
    unconverted). ``'teacher'`` (a key none of the official releases we name
    use) is found by the general rule: a key holding a dict of tensors."""
    state = save_stock_video_checkpoint(str(tmp_path / 'stock.pth'))
    path = str(tmp_path / 'nested.pth')
    torch.save({key: state, 'epoch': 3}, path)
    cause = _cause(key, state)
    said = _refusals(path)
    for name, message in said.items():
        assert cause in message, (name, message)
    assert said['whole'].startswith(path), said
    # Its tensors carry the model's own names: taken out, not converted.
    unwrap = ("its tensors already carry the model's own names, so take "
              'them out as they are, converting nothing: '
              'tools/model_converters/convert_official.py SRC DST '
              f'--key {key} --unwrap-only')
    assert said['whole'].endswith(
        f' does not fit the model: {cause}: {unwrap}. Nothing of it was '
        'loaded.'), said
    assert said['pretrained'].startswith(
        f"{path} cannot be loaded as a backbone's pretrained weights: "
        f'{cause}, so nothing of it would load. '), said
    # In the toolbox's own layout: taken out, not converted with --type.
    assert said['pretrained'].endswith(
        "Its weights already carry the toolboxes' own names "
        "('backbone.patch_embed.projection.weight'): take them out as they "
        'are, converting nothing: python '
        f'tools/model_converters/convert_official.py {path} CONVERTED.pth '
        f'--key {key} --unwrap-only, and give CONVERTED.pth as '
        '--pretrained.'), said
    assert (f'{cause}: {unwrap}, then train from DST: tools/train.py '
            'CONFIG --cfg-options load_from=DST (the whole model), without '
            '--resume.') in said['resume'], said


def test_known_keys_come_first_and_records_are_no_nesting():
    """Guard of kept behaviour: ``'model'``, ``'module'``, ``'model_ema'``
    and ``'state_dict_ema'`` are looked under first, whatever the file's
    order; a dict without tensors of its own (an optimizer's state, a
    record) nests nothing."""
    weights = {'w': torch.zeros(1)}
    assert nesting_key({'extra': weights, 'model_ema': weights}) == \
        'model_ema'
    assert nesting_key({'model_ema': weights, 'model': weights}) == 'model'
    assert nesting_key({'extra': weights, 'meta': {}}) == 'extra'
    assert nesting_key({
        'optimizer': {
            'state': {
                0: weights
            },
            'param_groups': []
        },
        'record': {
            'format': 'x'
        }
    }) is None
    assert nesting_key([weights]) is None
    assert nesting_key({'model': weights}, keys=['other']) is None


def test_weights_beside_a_nested_copy_are_not_refused_before_the_load():
    """``check_not_nested`` refuses a file none of whose weights would load;
    one whose weights sit at its top level, beside a nested copy (an EMA
    kept under its own key), loads them, and is left to the checks of the
    keys (it said "Nothing of it was loaded")."""
    weights = {'w': torch.zeros(2), 'b': torch.zeros(1)}
    check_not_nested(dict(weights, model_ema=dict(weights)), 'f.pth')
    with pytest.raises(StateDictMismatchError, match="nested under 'model'"):
        check_not_nested({'model': dict(weights), 'epoch': 3}, 'f.pth')
