# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py's exit status follows one rule, as a Unix command's: 2 for
a command line that cannot be used (found before any model loads, nothing
written), 1 for a failure while running, 0 when everything was answered.

Before, an INPUT that was not there (or a quoted pattern, or an address)
was classified as a failed input, after the model loaded: exit status 1,
while a ``--list`` path that was not there, a missing config or checkpoint
were usage errors (exit status 2).
"""
import os
import sys

import pytest
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, load_tool, write_config
from other_user import as_another_user, open_tmp_path  # noqa: F401
from refusal_lines import usage_line
from tool_runners import run_tool


@pytest.fixture(scope='module')
def image_model(tmp_path_factory, tiny_image_data):
    """The tiny image config on the stripes folder, a full checkpoint of it
    and one of its images."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    root = tmp_path_factory.mktemp('exit_codes')
    config = write_config(root / 'stripes.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    checkpoint = str(root / 'stripes.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), checkpoint)
    image = os.path.join(tiny_image_data, 'val', 'vertical', '0.png')
    return dict(config=config, checkpoint=checkpoint, image=image)


@pytest.mark.parametrize(
    'given, said',
    [('gone.png', 'INPUT {root}/gone.png: no such file'),
     ('{root}/*.pth', 'INPUT {root}/*.pth: no such file; as a pattern it '
      'matches 1 files, but inputs are not expanded'),
     ('https://example.com/a.png', 'INPUT https://example.com/a.png: is an '
      'address; inputs are local files or folders')])
def test_an_input_that_is_not_there_is_a_usage_error(image_model, tmp_path,
                                                     given, said):
    root = os.path.dirname(image_model['checkpoint'])
    given = given.format(root=root)
    if '://' not in given and not given.startswith(root):
        given = os.path.join(root, given)
    out = tmp_path / 'r.json'
    proc = run_tool([
        'infer.py', image_model['config'], image_model['checkpoint'],
        image_model['image'], given, '--out', out
    ],
                    cwd=tmp_path,
                    check=False)
    line = usage_line(proc, absent=['Loads checkpoint'])
    assert line.startswith(f'infer.py: error: {said.format(root=root)}'), \
        line
    # Found before anything was classified or written.
    assert not out.exists()
    assert f'{image_model["image"]}:' not in proc.stdout


def test_a_failure_while_running_is_status_1(image_model, tmp_path):
    """Guards kept behaviour: an input that is there but does not decode
    is answered as an error, the others are answered, status 1; all
    answered, status 0."""
    bad = tmp_path / 'bad.png'
    bad.write_bytes(open(image_model['image'], 'rb').read()[:40])
    args = ['infer.py', image_model['config'], image_model['checkpoint']]
    proc = run_tool(
        args + [image_model['image'], bad], cwd=tmp_path, check=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert f'{bad}: ERROR {bad}: cannot be decoded' in proc.stdout
    assert f'{image_model["image"]}: stripes: ' in proc.stdout
    proc = run_tool(args + [image_model['image']], cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_an_input_this_user_cannot_read_is_a_usage_error(
        image_model, open_tmp_path):  # noqa: F811
    """Before, nothing checked it before the model loaded: its own read
    failed while running. Run as another user where the tests run as root
    (root reads any file)."""
    import contextlib
    import io
    import shutil
    config = shutil.copy(image_model['config'], open_tmp_path)
    checkpoint = shutil.copy(image_model['checkpoint'], open_tmp_path)
    image = shutil.copy(image_model['image'], open_tmp_path)
    folder = os.path.join(open_tmp_path, 'shut')
    os.mkdir(folder)
    shutil.copy(image, folder)
    os.chmod(image, 0o600)
    os.chmod(folder, 0o700)
    if os.geteuid() != 0:
        os.chmod(image, 0o000)
        os.chmod(folder, 0o000)
    parse = load_tool('infer.py').parse_args
    # argparse names the program after sys.argv[0], pytest's here.
    prog = os.path.basename(sys.argv[0])

    def refused(path):

        def work():
            err = io.StringIO()
            with contextlib.redirect_stderr(err), pytest.raises(
                    SystemExit) as info:
                parse([config, checkpoint, path])
            return f'{info.value.code} {err.getvalue().splitlines()[-1]}'

        return as_another_user(work)

    try:
        assert refused(image) == (
            f'2 {prog}: error: INPUT {image}: permission denied (this user '
            'cannot read the file)')
        assert refused(folder) == (
            f'2 {prog}: error: INPUT {folder}: permission denied (this '
            'user cannot read the folder)')
    finally:
        os.chmod(image, 0o644)
        os.chmod(folder, 0o755)
