# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A VPT around an AdaptFormer is refused by ``tools/train.py`` on one
line, naming the config key, before the work dir is made.

Before, the model was built, the AdapterHook refused it after the work
dir as a backbone that was "never loaded" (the VPT's host is the
AdaptFormer, which loaded the ViT), and with that check turned off
``tools/test.py`` evaluated it without checking the inner adapters'
settings."""
from config_writers import image_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import CONFIGS
from tool_runners import run_tool

NESTED = """
model = dict(backbone=dict(_delete_=True, type='VPT', num_prompts=1,
                           deep=False, backbone={{_base_.model.backbone}}))
"""


def test_a_vpt_around_an_adaptformer_is_one_line_before_the_work_dir(
        tmp_path, tiny_image_data):
    config = write_config(tmp_path / 'cfg.py',
                          f'{CONFIGS}/tiny/tiny_adaptformer_image.py',
                          image_data_cfg(tiny_image_data) + NESTED)
    work_dir = tmp_path / 'work'
    proc = run_tool(['train.py', config, '--work-dir', work_dir],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=work_dir)
    assert line.startswith('ConfigError: ') and line.endswith(
        'VPT cannot wrap AdaptFormer (model.backbone.backbone.type='
        "'AdaptFormer'): a model takes one frozen-host wrapper, around a "
        'stock backbone. Give VPT the stock backbone that AdaptFormer '
        'wraps, or use AdaptFormer alone.'), line
