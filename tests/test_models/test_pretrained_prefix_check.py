# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A wrapped backbone's ``Pretrained`` init_cfg without the ``prefix`` its
whole-model checkpoint needs is refused before the work dir (it was
refused by the wrapper's load, in ``init_weights()``, after
``tools/train.py`` had made the work dir)."""
import pytest
import torch
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import image_data_cfg, write_config
from mmengine.config import Config
from refused_runs import refused_run
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.testing import make_stripes_dataset
from mmadaptformer.utils import ConfigError


def _config(tmp_path, checkpoint: str, prefix: str = None) -> str:
    extra = '' if prefix is None else f', prefix={prefix!r}'
    return write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
        'model = dict(backbone=dict(backbone=dict(init_cfg=dict('
        f"_delete_=True, type='Pretrained', checkpoint={checkpoint!r}"
        f'{extra}))))\n')


@pytest.fixture
def whole(tmp_path):
    path = str(tmp_path / 'whole.pth')
    save_stock_image_checkpoint(path)
    return path


def test_whole_model_checkpoint_without_prefix_is_refused(tmp_path, whole):
    config = _config(tmp_path, whole)
    with pytest.raises(ConfigError) as info:
        check_model_config(Config.fromfile(config), config)
    assert str(info.value) == (
        f'{config}: model.backbone.backbone.init_cfg: the checkpoint '
        f"{whole} is a whole model's (its backbone is under 'backbone.', "
        "e.g. 'backbone.cls_token'), but this Pretrained init_cfg has no "
        'prefix, so none of its keys would fit the backbone. Add '
        "prefix='backbone.' to model.backbone.backbone.init_cfg, or give "
        'the file with --pretrained PATH, which picks the prefix.')


def test_fitting_checkpoints_pass(tmp_path, whole):
    """Keeps: the same file with ``prefix='backbone.'``, and a file of the
    backbone's own keys without a prefix, pass the check."""
    config = _config(tmp_path, whole, prefix='backbone.')
    check_model_config(Config.fromfile(config), config)
    state = torch.load(whole, weights_only=True)['state_dict']
    bare = str(tmp_path / 'bare.pth')
    torch.save(
        {
            k[len('backbone.'):]: v
            for k, v in state.items() if k.startswith('backbone.')
        }, bare)
    config = _config(tmp_path, bare)
    check_model_config(Config.fromfile(config), config)


def test_train_refuses_it_before_the_work_dir(tmp_path, whole):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root)
    config = _config(tmp_path, whole)
    with open(config, 'a') as f:
        f.write(image_data_cfg(root))
    line = refused_run('train.py', config, tmp_path, no_work_dir=True)
    assert "Add prefix='backbone.' to model.backbone.backbone.init_cfg" in \
        line
