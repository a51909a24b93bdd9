# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--cfg-options model.backbone.backbone.drop_path_rate=None`` ended
tools/train.py in a ``TypeError`` (numpy's for mmpretrain's ViT, torch's
for mmaction2's) from inside the host's constructor that named no
option. The host's error and its traceback are kept; a note
under its last line names the options given to the module that raised."""
from config_writers import video_data_cfg, write_config
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool


def test_the_host_error_names_the_options_given_to_the_host(
        tmp_path, tiny_video_data):
    """The note names the host's key, its class and the option under it,
    not the adapter's option given beside it."""
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        'model.backbone.backbone.drop_path_rate=None',
        'model.backbone.adapter.scale=0.2'
    ],
                    cwd=tmp_path,
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 1, proc.stderr
    # torch's own error, whole; then the note.
    assert 'TypeError: linspace() received an invalid combination' in \
        proc.stderr, proc.stderr
    last = proc.stderr.rstrip().splitlines()[-1]
    assert last == (
        'model.backbone.backbone (VisionTransformer), whose constructor '
        'raised this, was given --cfg-options '
        'model.backbone.backbone.drop_path_rate=None.'), last
    assert 'adapter.scale' not in last
